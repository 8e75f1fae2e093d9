"""The nightly verification through a real Celery worker: dispatcher in public, one task per agency."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from audit.tasks import verify_all_logs
from tenants.models import Agency

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


def test_the_test_database_is_in_use(db):
    assert connection.settings_dict["NAME"].startswith("test")


def _latest_check(schema: str) -> int:
    with schema_context(schema):
        return (
            AccessEvent.objects.filter(action=Action.AUDIT_VERIFIED)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
            or 0
        )


def test_nightly_verification_runs_for_every_agency_on_a_worker(committed, tmp_path):
    if not connection.settings_dict["NAME"].startswith("test"):
        pytest.fail("The test database is not set up.")
    schemas = list(Agency.objects.values_list("schema_name", flat=True))
    before = {schema: _latest_check(schema) for schema in schemas}
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test",
            "ALPR_TEST_SERVER_DB": settings.DATABASES["default"]["NAME"],
        }
    )
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "alpr_portal", "worker", "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        verify_all_logs.delay()
        deadline = time.monotonic() + 90
        pending = set(schemas)
        while pending and time.monotonic() < deadline:
            pending = {s for s in pending if _latest_check(s) <= before[s]}
            if worker.poll() is not None:
                break
            time.sleep(0.5)
        assert not pending, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
    with schema_context("alpha"):
        entry = AccessEvent.objects.filter(action=Action.AUDIT_VERIFIED).order_by("-id").first()
    assert entry.outcome == "allowed"
    assert entry.details["ok"] is True
