"""A real Celery worker runs the purge the dispatcher sends, in the agency's own schema.

Committed data on a day no other test uses; a queue of its own so stale messages never
interfere; the purge hour of agency A is set to the current hour for the test and restored.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from captures.models import Capture, DataKey
from captures.retention.services import NIGHTLY_USERNAME
from captures.tasks import purge_dispatch
from tenants.models import Agency
from tests.factories import make_expired_set
from tests.support import ROOT, cleanup_committed, committed_agency

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("plain_sync_orm")]


def test_the_dispatched_purge_runs_in_a_real_worker(committed, storage_dir, settings):
    queue = f"alpr-test-purge-{uuid.uuid4().hex[:10]}"
    settings.ALPR_PURGE_QUEUE = queue
    agency = committed_agency()
    camera, captures = make_expired_set(agency, 3)
    ids = [c.pk for c in captures]
    original_hour = agency.purge_hour
    log_path = ROOT / "var" / f"test-worker-purge-{os.getpid()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="alpr_portal.settings_test",
        ALPR_TEST_SERVER_DB=settings.DATABASES["default"]["NAME"],
        REDIS_URL=settings.REDIS_URL,
        ALPR_STORAGE_DIR=str(storage_dir),
        PYTHONUNBUFFERED="1",
    )
    passed = False
    with open(log_path, "w") as log:
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "alpr_portal", "worker", "--pool=solo",
             "-Q", queue, "-n", f"purge-{uuid.uuid4().hex[:6]}@%h", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            with schema_context(agency.schema_name):
                last_id = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first()
            now = datetime.datetime.now(datetime.UTC)
            Agency.objects.filter(pk=agency.pk).update(purge_hour=now.astimezone(agency.tz).hour)
            sent = purge_dispatch(now.isoformat())  # no transaction: sent at once
            assert agency.slug in sent
            deadline = time.monotonic() + 90
            with schema_context(agency.schema_name):
                key = DataKey.objects.filter(day=captures[0].key_day)
                events = AccessEvent.objects.filter(
                    action="purge", actor_username=NIGHTLY_USERNAME, id__gt=last_id or 0
                )
                # The rows go first, batch by batch; the day's key is destroyed and the
                # log entry written after them: wait for the whole run, not its first part.
                while (
                    Capture.objects.filter(pk__in=ids).exists()
                    or key.filter(destroyed_at__isnull=True).exists()
                    or not events.exists()
                ):
                    assert worker.poll() is None, log_path.read_text()[-3000:]
                    assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                    time.sleep(0.3)
                assert events.latest("id").details["captures_deleted"] >= 3
            assert not (storage_dir / agency.schema_name / captures[0].key_day.isoformat()).exists()
            assert "captures.purge.purge_agency" in log_path.read_text()
            passed = True
        finally:
            Agency.objects.filter(pk=agency.pk).update(purge_hour=original_hour)
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=10)
            cleanup_committed(agency, camera, captures)
    if passed:
        log_path.unlink(missing_ok=True)  # kept only when the test fails
