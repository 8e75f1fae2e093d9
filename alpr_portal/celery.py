"""The Celery app: tenant-aware, so a task sent inside an agency's schema runs there."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")

app = CeleryApp("alpr_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
