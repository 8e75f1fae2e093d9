"""One way to run a Celery task in every agency's schema.

A dispatcher (a task beat runs in ``public``) calls ``fan_out(task)``: one message per agency,
each sent inside that agency's ``schema_context``, so tenant-schemas-celery stamps the message
with the schema and the worker runs the task there. Messages leave once the caller's
transaction commits (at once outside a transaction). The per-agency task takes the agency's
id as its first argument and starts with ``task_agency(agency_id)``, which refuses to run in
any schema but that agency's.

Used by the capture tasks (purge, requeue of pending reads) and the audit jobs alike, so
there is one shape of per-agency work to read, test and trust.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from celery import Task
from django.db import transaction
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.schemas import PUBLIC_SCHEMA, current_schema


def fan_out(
    task: Task[Any, Any],
    *,
    agencies: Iterable[Agency] | None = None,
    include_platform: bool = False,
    queue: str | None = None,
    **kwargs: Any,
) -> list[Agency]:
    """Send ``task(agency.id, **kwargs)`` once per agency, each in the agency's schema.

    ``agencies`` defaults to every agency; ``include_platform`` adds the platform's own row
    (schema ``public``: its access log). ``queue`` names the queue (default: the task's).
    Returns the agencies a message was sent for.
    """
    if agencies is None:
        rows = Agency.objects.order_by("schema_name")
        if not include_platform:
            rows = rows.exclude(schema_name=PUBLIC_SCHEMA)
        agencies = rows
    chosen = list(agencies)
    for agency in chosen:
        send = functools.partial(_send, task, agency.schema_name, agency.pk, kwargs, queue)
        transaction.on_commit(send)
    return chosen


def _send(
    task: Task[Any, Any],
    schema_name: str,
    agency_id: int,
    kwargs: dict[str, Any],
    queue: str | None,
) -> None:
    with schema_context(schema_name):
        if queue:
            task.apply_async(args=(agency_id,), kwargs=kwargs, queue=queue)
        else:
            task.apply_async(args=(agency_id,), kwargs=kwargs)


class AgencyGone(LookupError):
    """The agency a task was sent for does not exist (any more) in this database."""


def task_agency(agency_id: int) -> Agency:
    """The agency a fanned-out task was sent for, checked against the schema it runs in.

    A task running in another schema (a message without its schema, or tampered with) would
    read and write the wrong agency's tables: it is refused with RuntimeError. A task for an
    agency that does not exist raises ``AgencyGone``, which the task class logs in one line.
    """
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        raise AgencyGone(f"no agency with id {agency_id} in this database")
    schema = current_schema()
    if schema != agency.schema_name:
        raise RuntimeError(f"task for {agency.schema_name} ran in {schema}; refusing")
    return agency
