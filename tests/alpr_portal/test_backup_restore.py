"""The restore drill of docs/OPERATIONS.md, performed: dump the database, copy the image store
and the checkpoints (kept apart), wipe, restore into a scratch database, purge what expired
since the backup, and prove that ``verify_retention`` and ``verify_audit_log`` pass and that a
restored capture's images decrypt (with the master key, which no backup holds, and not without).

The scratch database (``<test database>_drill``) is dropped at the end; the test database is
only read (``pg_dump``) apart from the committed rows this test removes again.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django_tenants.utils import schema_context

from captures.storage import image_files
from tests.factories import (
    RETENTION_CAMERA,
    ingest_capture,
    make_camera,
    make_stored_capture,
    unused_expired_day,
)
from tests.support import ROOT, cleanup_committed, committed_agency, files_of

pytestmark = pytest.mark.worker  # processes of its own, on committed data


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    return f"postgresql://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, **kwargs)  # noqa: S603


@pytest.fixture
def drill_db():
    name = f"{settings.DATABASES['default']['NAME']}_drill"
    _run(["dropdb", "--if-exists", "--force", "--maintenance-db", _url("postgres"), name])
    yield name
    _run(["dropdb", "--if-exists", "--force", "--maintenance-db", _url("postgres"), name])


@pytest.fixture
def live_store(settings, tmp_path):
    settings.ALPR_STORAGE_DIR = tmp_path / "live-images"
    return settings.ALPR_STORAGE_DIR


class Restored:
    """``manage.py`` on the restored database, images and checkpoints."""

    def __init__(self, db: str, images: Path, checkpoints: Path, signing_key: Path):
        self.env = dict(os.environ)
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test",
                "ALPR_TEST_SERVER_DB": db,
                "ALPR_STORAGE_DIR": str(images),
                "ALPR_AUDIT_SIGNING_KEY_FILE": str(signing_key),
                "REDIS_URL": settings.REDIS_URL,
            }
        )
        self.checkpoints = checkpoints

    def run(self, script: str, env: dict[str, str] | None = None):
        # settings_test pins the checkpoint folder of test processes; the drill points it at
        # the restored copy before Django starts.
        prelude = (
            "import django; from django.conf import settings;"
            f"settings.ALPR_AUDIT_CHECKPOINT_DIR = {str(self.checkpoints)!r}; django.setup()\n"
        )
        return _run(
            [sys.executable, "-c", prelude + script], cwd=ROOT, env={**self.env, **(env or {})}
        )


def _procedure(steps: list[list[str]], schema: str, names: list[str]) -> str:
    """The restore procedure's commands (``manage.py`` each, in one process to save start-up
    time), then the decrypt check of ``names``."""
    return (
        "import hashlib\n"
        "from django.core.management import CommandError, call_command\n"
        "from django_tenants.utils import schema_context\n"
        "from captures.storage.image_files import load_image\n"
        f"for step in {steps!r}:\n"
        "    try:\n"
        "        call_command(*step); code = 0\n"
        "    except CommandError:\n"
        "        code = 1\n"
        "    print('step', step[0], code, flush=True)\n"
        f"with schema_context({schema!r}):\n"
        f"    for name in {names!r}:\n"
        "        try: print(name, hashlib.sha256(load_image(name)).hexdigest())\n"
        "        except Exception as exc: print(name, type(exc).__name__)\n"
    )


def test_restore_drill(
    committed, drill_db, live_store, tmp_path, audit_checkpoint_dir, audit_signing_key_file
):
    agency = committed_agency()
    camera = make_camera(agency, prefix=RETENTION_CAMERA)
    fresh = ingest_capture(agency, SimpleNamespace(camera=camera), text="BKP1234", vehicle=True)
    old = make_stored_capture(agency, camera, captured_at=unused_expired_day(agency))
    try:
        with schema_context(agency.schema_name):
            originals = {
                n: hashlib.sha256(image_files.load_image(n)).hexdigest() for n in files_of(fresh)
            }
        call_command("audit_checkpoint", "--agency", agency.slug)  # the log's head, signed

        # Back up: the database, the image store and the checkpoints, each to its own place.
        backup = tmp_path / "backup"
        dump = backup / "db" / "alpr.dump"
        dump.parent.mkdir(parents=True)
        # The whole database: the platform's schema, every agency's, the extensions (pg_trgm).
        done = _run(
            ["pg_dump", "-Fc", "-f", str(dump), _url(settings.DATABASES["default"]["NAME"])]
        )
        assert done.returncode == 0, done.stderr
        shutil.copytree(live_store, backup / "images")
        shutil.copytree(audit_checkpoint_dir, backup / "checkpoints")

        # Wipe, then restore into the scratch database and new folders.
        shutil.rmtree(live_store)
        restored_images = tmp_path / "restored-images"
        restored_checkpoints = tmp_path / "restored-checkpoints"
        done = _run(["createdb", "--maintenance-db", _url("postgres"), drill_db])
        assert done.returncode == 0, done.stderr
        done = _run(
            [
                "pg_restore",
                "--exit-on-error",
                "--clean",
                "--if-exists",
                "-d",
                _url(drill_db),
                str(dump),
            ]
        )
        assert done.returncode == 0, done.stderr
        shutil.copytree(backup / "images", restored_images)
        shutil.copytree(backup / "checkpoints", restored_checkpoints)
        restored = Restored(drill_db, restored_images, restored_checkpoints, audit_signing_key_file)

        # The backup is older than the retention allows for ``old``: the first check says so,
        # the purge before opening the service removes it, then every check passes and the
        # restored capture's images decrypt to what was stored.
        steps = [
            ["verify_retention", "--agency", agency.slug],
            ["purge_expired", "--agency", agency.slug],
            ["verify_retention", "--agency", agency.slug],
            ["verify_audit_log", "--agency", agency.slug],
        ]
        done = restored.run(_procedure(steps, agency.schema_name, sorted(originals)))
        assert done.returncode == 0, done.stdout + done.stderr
        codes = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("step ")]
        assert codes == [
            ["verify_retention", "1"],
            ["purge_expired", "0"],
            ["verify_retention", "0"],
            ["verify_audit_log", "0"],
        ], done.stdout
        assert "capture rows older than retention: 1" in done.stdout, done.stdout
        assert _results(done.stdout, originals) == originals, done.stdout

        # The dump and the image copy alone (without the master key) open nothing.
        other_key = base64.b64encode(os.urandom(32)).decode()
        refused = restored.run(
            _procedure([], agency.schema_name, sorted(originals)),
            env={"ALPR_MASTER_KEY": other_key},
        )
        assert refused.returncode == 0, refused.stderr
        assert set(_results(refused.stdout, originals).values()) == {"ImageDecryptError"}
    finally:
        cleanup_committed(agency, camera, [fresh, old])


def _results(stdout: str, names) -> dict[str, str]:
    """``name result`` lines of the decrypt script (other output, e.g. log lines, ignored)."""
    pairs = (line.split(" ", 1) for line in stdout.splitlines() if " " in line)
    return {name: result.strip() for name, result in pairs if name in names}
