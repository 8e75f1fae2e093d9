"""Messages for agencies or captures that do not exist (left in Redis by another database, or
removed since) end on a real worker with one clear log line each, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from captures.tasks import read_capture, requeue_agency_reads

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


def _worker(log_path: Path) -> tuple[subprocess.Popen[bytes], object]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test",
            "ALPR_TEST_SERVER_DB": settings.DATABASES["default"]["NAME"],
        }
    )
    log = open(log_path, "w")  # noqa: SIM115
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "alpr_portal", "worker", "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    return worker, log


def test_tasks_for_a_missing_agency_or_capture_log_one_line(committed, tmp_path):
    gone_capture = str(uuid.uuid4())
    missing_schema = f"gone_{uuid.uuid4().hex[:8]}"
    read_capture.apply_async(args=(str(uuid.uuid4()),), headers={"_schema_name": missing_schema})
    with schema_context("alpha"):
        requeue_agency_reads.apply_async(args=(987654321, 60))
        read_capture.apply_async(args=(gone_capture,))
    log_path = tmp_path / "worker.log"
    worker, log = _worker(log_path)
    wanted = [
        f"skipped: its agency (schema '{missing_schema}') does not exist in this database",
        "task captures.requeue_agency_reads skipped: no agency with id 987654321",
        f"capture {gone_capture} not found in alpha: nothing to read",
    ]
    try:
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline and worker.poll() is None:
            text = log_path.read_text()
            if all(line in text for line in wanted):
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()  # type: ignore[attr-defined]
    text = log_path.read_text()
    for line in wanted:
        assert line in text, text[-4000:]
    assert "Traceback" not in text, text[-4000:]
    assert "DoesNotExist" not in text, text[-4000:]
