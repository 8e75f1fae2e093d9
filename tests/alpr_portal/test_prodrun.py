"""The production runner, exercised: ``make prod-check``'s own command on the test database.

gunicorn (WhiteNoise static files), a Celery worker on each of the reading, purge and audit
queues and one beat start under ``ALPR_ENV=production``; the smoke test posts a capture over
HTTP as a camera, waits for the reading worker, signs an officer in (password and code),
searches the plate the worker read and verifies the agency's access log; then the stack stops.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from alpr_portal import prodrun
from tests.support import ROOT

pytestmark = [pytest.mark.worker, pytest.mark.ocr]


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    return (
        f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


def test_the_production_procfile_runs_one_beat_and_a_worker_per_queue():
    entries = dict(prodrun.procfile())
    assert sum(1 for command in entries.values() if " beat" in command) == 1
    assert "gunicorn alpr_portal.wsgi" in entries["web"]
    for name, variable in (
        ("reading", "ALPR_OCR_QUEUE"),
        ("purge", "ALPR_PURGE_QUEUE"),
        ("audit", "ALPR_AUDIT_QUEUE"),
    ):
        assert f"-Q ${{{variable}:-" in entries[name], name


def test_prod_check_passes_on_the_test_database(committed, tmp_path, audit_signing_key_file):
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by ``committed``; refused by check --deploy
    env.update(
        {
            "REDIS_URL": settings.REDIS_URL,
            "ALPR_AUDIT_SIGNING_KEY_FILE": str(audit_signing_key_file),
            "ALPR_AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
            "ALPR_STORAGE_DIR": str(tmp_path / "images"),
        }
    )
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "alpr_portal.prodrun",
            "check",
            "--no-migrate",
            "--agency",
            "prodcheck",  # its own agency: the smoke purges it and destroys old day keys
            "--database-url",
            _test_database_url(),
            "--dir",
            str(tmp_path / "prodcheck"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for step in (
        "static: /static/css/portal.",  # a hashed name: the manifest storage of production
        "proxy: plain HTTP -> 301 https://",
        "camera: POST /api/v1/captures/ 201",
        "worker: read",
        "officer: signed in with a second factor and found the capture",
        "purge and audit workers: purged and verified prodcheck",
        "healthz: 200",
        "audit: the access log of prodcheck verifies",
        "prod-check passed",
    ):
        assert step in output, step
    assert "stopped beat (exit 0)" in output
