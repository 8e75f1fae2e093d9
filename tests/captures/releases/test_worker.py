"""A real Celery worker builds the evidence package the page asks for, in the agency's schema,
reporting progress on the package's row; the result verifies.

Committed data under unique names; a queue of its own so stale messages never interfere. The
rows it made are removed at the end (the access-log entries stay, as they must).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.test import RequestFactory
from django_tenants.utils import schema_context

from captures.releases.models import Disclosure, EvidencePackage
from captures.releases.package import verify_package_file
from captures.releases.services import disclosure_decide, disclosure_prepare, package_request
from captures.releases.signing import public_key
from tenants.people.roles import Role
from tests.factories import disclosure_data, make_camera, make_confirmed_capture, make_user
from tests.support import ROOT, committed_agency

pytestmark = pytest.mark.worker


def _request(user):
    request = RequestFactory().post("/releases/")
    request.user = user
    return request


def _worker(queue: str, env: dict[str, str], log):
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "alpr_portal", "worker", "--pool=solo",
         "-Q", queue, "-n", f"package-{uuid.uuid4().hex[:6]}@%h", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def test_a_worker_builds_the_package(committed, storage_dir, package_dir, settings):
    queue = f"alpr-test-package-{uuid.uuid4().hex[:10]}"
    settings.ALPR_PACKAGE_QUEUE = queue
    agency = committed_agency()
    tag = uuid.uuid4().hex[:8]
    officer = make_user(agency, username=f"pkg-off-{tag}")
    admin = make_user(agency, username=f"pkg-adm-{tag}", roles=[Role.ADMINISTRATOR])
    camera = make_camera(agency, name=f"Package cam {tag}")
    captures = [make_confirmed_capture(agency, camera) for _ in range(25)]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="alpr_portal.settings_test",
        ALPR_TEST_SERVER_DB=settings.DATABASES["default"]["NAME"],
        REDIS_URL=settings.REDIS_URL,
        ALPR_STORAGE_DIR=str(storage_dir),
        ALPR_PACKAGE_DIR=str(package_dir),
        PYTHONUNBUFFERED="1",
    )
    log_path = ROOT / "var" / f"test-worker-package-{os.getpid()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    disclosure = None
    with open(log_path, "w") as log:
        worker = _worker(queue, env, log)
        try:
            with schema_context(agency.schema_name):
                disclosure = disclosure_prepare(
                    request=_request(officer),
                    agency=agency,
                    data=disclosure_data(case_number=f"W-{tag}"),
                    capture_ids=[c.pk for c in captures],
                )
                disclosure = disclosure_decide(
                    request=_request(admin),
                    agency=agency,
                    disclosure_id=disclosure.pk,
                    approve=True,
                )
                package = package_request(
                    request=_request(officer), agency=agency, disclosure=disclosure
                )  # no transaction around it: sent at once
                deadline = time.monotonic() + 120
                while True:
                    package.refresh_from_db()
                    if package.status in (EvidencePackage.Status.READY, "failed"):
                        break
                    assert worker.poll() is None, log_path.read_text()[-3000:]
                    assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                    time.sleep(0.1)
                assert package.status == EvidencePackage.Status.READY, package.error
                assert package.done == 25
                verdict = verify_package_file(
                    package_dir / agency.schema_name / package.file_name, trusted_key=public_key()
                )
            assert verdict.intact, verdict.problems
            assert verdict.manifest is not None
            assert verdict.manifest["captures_included"] == 25
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
            if disclosure is not None:
                with schema_context(agency.schema_name):
                    EvidencePackage.objects.filter(disclosure=disclosure).delete()
                    Disclosure.objects.filter(pk=disclosure.pk).delete()
