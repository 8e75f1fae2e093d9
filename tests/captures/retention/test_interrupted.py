"""Real interruptions and real concurrency: a purge process killed with SIGKILL, two runs at once.

These tests commit their data (the other side is another process or thread); they create only
captures that the purge removes, under their own cameras and on a day no other test used, and
delete those cameras at the end. Like the browser tests they rely on the session having set up
the test database for the other (transactional) tests: run them with the rest of the folder.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from captures.models import Capture, DataKey, Review
from captures.retention import services as purge
from captures.retention.checks import verify_retention
from captures.retention.services import purge_expired
from tests.factories import make_expired_set
from tests.support import ROOT, cleanup_committed, committed_agency, files_of, path_of

pytestmark = pytest.mark.usefixtures("plain_sync_orm")
DAY = datetime.timedelta(days=1)


def _pg_connect():
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
    )


def test_purge_killed_between_file_and_row_deletion_resumes(committed, storage_dir):
    agency_a = committed_agency()
    camera, captures = make_expired_set(agency_a, 12)
    ids = [c.pk for c in captures]
    try:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="alpr_portal.settings_test",
            ALPR_TEST_SERVER_DB=settings.DATABASES["default"]["NAME"],
            ALPR_STORAGE_DIR=str(storage_dir),
        )
        with _pg_connect() as blocker:
            # Hold the reviews table: the purge deletes the batch's files, then waits here,
            # inside its transaction, before any row is deleted.
            blocker.execute(
                f"LOCK TABLE {agency_a.schema_name}.captures_review IN ACCESS EXCLUSIVE MODE"
            )
            proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "purge_expired", "--agency", agency_a.slug],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            waiting_pid = None
            deadline = time.monotonic() + 60
            while waiting_pid is None and time.monotonic() < deadline:
                assert proc.poll() is None, proc.stdout.read().decode()
                # Activity is snapshotted once per transaction: clear it to see the purge arrive.
                blocker.execute("SELECT pg_stat_clear_snapshot()")
                row = blocker.execute(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE %s AND datname = current_database()",
                    ["%captures_review%"],
                ).fetchone()
                waiting_pid = row[0] if row else None
                time.sleep(0.05)
            assert waiting_pid, "the purge never reached the row deletion"
            assert not any(
                path_of(storage_dir, agency_a, n).exists() for c in captures for n in files_of(c)
            )
            proc.kill()  # SIGKILL: no cleanup, no access-log entry
            proc.wait(timeout=10)
            # The server notices the dead client when it next talks to it; do that now.
            blocker.execute("SELECT pg_terminate_backend(%s)", [waiting_pid])
            blocker.rollback()
            blocker.autocommit = True
            for _ in range(200):
                if not blocker.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [waiting_pid]
                ).fetchone():
                    break
                time.sleep(0.05)

        with schema_context(agency_a.schema_name):
            assert Capture.objects.filter(pk__in=ids).count() == 12  # rolled back
            assert Review.objects.filter(capture_id__in=ids).count() == 4

        result = purge_expired(agency=agency_a)

        assert result.captures_deleted >= 12
        assert result.files_deleted == 0  # the killed run had deleted them already
        with schema_context(agency_a.schema_name):
            assert not Capture.objects.filter(pk__in=ids).exists()
            assert not Review.objects.filter(capture_id__in=ids).exists()
            assert DataKey.objects.get(day=captures[0].key_day).destroyed_at is not None
        assert not (storage_dir / agency_a.schema_name / captures[0].key_day.isoformat()).exists()
        assert verify_retention(agency=agency_a).ok
    finally:
        cleanup_committed(agency_a, camera, captures)


def test_two_concurrent_runs_share_the_work_without_conflict(committed, storage_dir, monkeypatch):
    agency_a = committed_agency()
    camera, captures = make_expired_set(agency_a, 40)
    ids = [c.pk for c in captures]
    # Let the runs interleave: a short pause after each committed batch.
    monkeypatch.setattr(
        purge, "_checkpoint", lambda name: time.sleep(0.01) if name == "batch_committed" else None
    )
    results, errors = [], []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            results.append(purge_expired(agency=agency_a, batch_size=3))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert len(results) == 2
        assert sum(r.captures_deleted for r in results) >= 40
        assert all(r.batches > 0 for r in results), "one run did all the work: no overlap"
        assert sum(r.files_deleted for r in results) == 80
        with schema_context(agency_a.schema_name):
            assert not Capture.objects.filter(pk__in=ids).exists()
            assert DataKey.objects.get(day=captures[0].key_day).destroyed_at is not None
        assert verify_retention(agency=agency_a).ok
    finally:
        cleanup_committed(agency_a, camera, captures)
