"""Reminders through a real Celery worker: the daily dispatcher in public, one task per agency,
the agency's custodian reminded (the worker's mail backend is its own locmem outbox, so the
reminder is seen in what the task commits with it: the entry and the notification's date)."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.incidents.models import Incident, Notification
from audit.models import AccessEvent, Action
from audit.tasks import incident_reminders_all
from tenants.models import Agency

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.worker


def test_the_test_database_is_in_use(db):
    assert connection.settings_dict["NAME"].startswith("test")


def _worker(tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test",
            "ALPR_TEST_SERVER_DB": settings.DATABASES["default"]["NAME"],
        }
    )
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "alpr_portal", "worker", "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_the_daily_reminder_runs_on_a_worker(committed, tmp_path):
    if not connection.settings_dict["NAME"].startswith("test"):
        pytest.fail("The test database is not set up.")
    agency = Agency.objects.get(slug="alpha")
    previous_email = agency.contact_email
    Agency.objects.filter(pk=agency.pk).update(contact_email="custodian@alpha.invalid")
    tag = uuid.uuid4().hex[:8]
    now = timezone.now()
    with schema_context(agency.schema_name):
        incident = Incident.objects.create(
            title=f"Worker reminder {tag}",
            description="d",
            window_start=now - datetime.timedelta(hours=1),
            window_end=now,
            suspected_accounts=["x"],
            opened_by_username="test",
        )
        notification = Notification.objects.create(
            incident=incident,
            recipient_kind="state",
            recipient="State AG",
            responsible="Chief",
            due_on=now.astimezone(agency.tz).date() - datetime.timedelta(days=1),
        )
    worker = _worker(tmp_path)
    try:
        incident_reminders_all.delay()
        deadline = time.monotonic() + 90
        reminded = None
        while time.monotonic() < deadline and worker.poll() is None:
            with schema_context(agency.schema_name):
                reminded = Notification.objects.get(pk=notification.pk).last_reminded_on
            if reminded:
                break
            time.sleep(0.5)
        assert reminded == now.astimezone(agency.tz).date(), (tmp_path / "worker.log").read_text()[
            -3000:
        ]
        with schema_context(agency.schema_name):
            entry = AccessEvent.objects.filter(
                action=Action.INCIDENT_REMINDER, details__incident_id=incident.pk
            ).get()
        assert entry.details["to"] == "custodian@alpha.invalid"
        assert entry.details["notifications"] == [notification.pk]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        with schema_context(agency.schema_name):
            Incident.objects.filter(pk=incident.pk).delete()
        Agency.objects.filter(pk=agency.pk).update(contact_email=previous_email)
