"""The Celery app: tenant-aware, so a task sent inside an agency's schema runs there.

A message whose agency no longer exists (a task left in Redis by another database, or an
agency removed since) is dropped with one clear log line, not a traceback: ``PortalTask``
looks the schema up itself, and a per-agency task whose ``task_agency`` finds no agency ends
the same way.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import celeryd_after_setup
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

from alpr_portal import reading_priority

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")

logger = logging.getLogger("alpr_portal.tasks")


class _MissingAgency:
    """Stands in for an agency whose schema is gone: the task is skipped before it runs."""

    def __init__(self, schema_name: str):
        self.schema_name = schema_name


class PortalTask(TenantTask):
    abstract = True

    @classmethod
    def get_tenant_for_schema(cls, schema_name: str) -> Any:
        from tenants.models import Agency

        try:
            return super().get_tenant_for_schema(schema_name=schema_name)
        except Agency.DoesNotExist:
            return _MissingAgency(schema_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from django.db import connection

        from tenants.fanout import AgencyGone

        tenant: Any = getattr(connection, "tenant", None)
        if isinstance(tenant, _MissingAgency):
            db: Any = connection
            db.set_schema_to_public()
            logger.warning(
                "task %s skipped: its agency (schema %r) does not exist in this database "
                "(a message left from another database, or a removed agency)",
                self.name,
                tenant.schema_name,
            )
            return None
        try:
            return super().__call__(*args, **kwargs)
        except AgencyGone as exc:
            logger.warning("task %s skipped: %s", self.name, exc)
            return None


app = CeleryApp("alpr_portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The reading worker lowers its CPU priority at start: the web server comes first.
celeryd_after_setup.connect(reading_priority.on_worker_setup, weak=False)
