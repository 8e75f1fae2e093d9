"""A real Celery worker (Redis broker, real plate reader) reads what the API stored.

The worker is a subprocess on the test database; data it must see is committed
(``committed``). Each run uses its own queue so stale messages never interfere.
"""

from __future__ import annotations

import datetime
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context

from captures.ingest.services import camera_create, capture_ingest
from captures.models import Capture
from captures.synthetic.plates import render_plate
from tenants.models import Agency
from tests.support import ROOT

pytestmark = [pytest.mark.worker, pytest.mark.ocr]

QUEUE = f"alpr-test-captures-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def module_storage(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-images")


@pytest.fixture(autouse=True)
def _sync_orm_beside_playwright(monkeypatch):
    """The session's Playwright browser (tests/browser) keeps an event loop running in this
    thread, and these tests run after it (no ``db`` fixture): the ORM calls here are plain
    synchronous code all the same."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    # Under that loop the ORM may have opened a connection pytest-django does not know about;
    # close it so the test database can be dropped at the end of the session.
    connections.close_all()


@pytest.fixture(autouse=True)
def storage_dir(settings, module_storage):
    """The worker and this process must share one image folder."""
    settings.ALPR_STORAGE_DIR = module_storage
    settings.ALPR_OCR_QUEUE = QUEUE
    return module_storage


class Worker:
    def __init__(
        self,
        storage: Path,
        name: str,
        *,
        queue: str = QUEUE,
        pool: tuple[str, ...] = ("--pool=solo",),
    ):
        self.log_path = ROOT / "var" / f"test-worker-{name}-{os.getpid()}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test",
                "ALPR_TEST_SERVER_DB": settings.DATABASES["default"]["NAME"],
                "REDIS_URL": settings.REDIS_URL,
                "ALPR_STORAGE_DIR": str(storage),
                "ALPR_OCR_QUEUE": queue,
                # A message held by a killed worker is handed out again after 2 s.
                "CELERY_VISIBILITY_TIMEOUT": "2",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "alpr_portal",
                "worker",
                *pool,
                "-Q",
                queue,
                "-n",
                f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill takes all of it
        )

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, words: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if words in self.text():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited:\n{self.text()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"worker log never said {words!r}:\n{self.text()[-3000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def workers(module_storage):
    started: list[Worker] = []

    def start(name: str, **kwargs) -> Worker:
        worker = Worker(module_storage, name, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def reading_worker(workers):
    """One warm worker for the tests that only need a reader."""
    holder: dict[str, Worker] = {}

    def get() -> Worker:
        if "w" not in holder:
            holder["w"] = workers("reader")
        return holder["w"]

    return get


def _ingest(agency: Agency, text: str, state: str) -> Capture:
    """Store a capture through the ingest service and commit it (queues the reading)."""
    plate = render_plate(random.Random(11), text=text, state=state, clean=True)
    import io

    buffer = io.BytesIO()
    plate.image.save(buffer, format="PNG")
    with schema_context(agency.schema_name):
        camera = camera_create(
            name=f"Worker cam {uuid.uuid4().hex[:12]}", latitude=45, longitude=-122
        ).camera
        capture = capture_ingest(
            camera=camera,
            agency=agency,
            plate_image=buffer.getvalue(),
            captured_at=timezone.now() - datetime.timedelta(seconds=30),
        ).capture
    connection.set_schema_to_public()
    return capture


def _wait_read(agency: Agency, capture_id, timeout: float) -> Capture:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with schema_context(agency.schema_name):
            capture = Capture.objects.get(pk=capture_id)
        if capture.status != Capture.Status.PENDING:
            return capture
        time.sleep(0.5)
    raise AssertionError(f"capture {capture_id} still pending after {timeout} s")


def test_killed_worker_does_not_lose_the_capture(committed, workers, reading_worker):
    agency = Agency.objects.get(slug="alpha")
    victim = workers("victim")
    victim.wait_for("ready.", timeout=60)
    capture = _ingest(agency, "KIL4321", "TX")
    # The task is taken (late ack: not acknowledged yet) and the reader is loading: kill it.
    victim.wait_for("captures.read_capture[", timeout=30)  # "... received"
    victim.kill()
    time.sleep(2.5)  # past the visibility timeout: the next worker takes the message back at start
    with schema_context(agency.schema_name):
        assert Capture.objects.get(pk=capture.pk).status == Capture.Status.PENDING
    survivor = reading_worker()
    read = _wait_read(agency, capture.pk, timeout=90)
    assert read.status == Capture.Status.READ, survivor.text()[-2000:]
    assert read.machine_plate == "KIL4321"
    assert read.plate == "KIL4321"


def test_worker_reads_a_plate_into_the_right_agency(committed, reading_worker):
    agency_b = Agency.objects.get(slug="bravo")
    worker = reading_worker()
    capture = _ingest(agency_b, "BRV7702", "WA")
    read = _wait_read(agency_b, capture.pk, timeout=90)
    assert read.status == Capture.Status.READ, worker.text()[-2000:]
    assert (read.machine_plate, read.plate) == ("BRV7702", "BRV7702")
    assert read.machine_state == "WA"
    assert read.ocr_model
    assert read.machine_confidence is not None
    assert read.read_at is not None
    with schema_context("alpha"):
        assert not Capture.objects.filter(pk=capture.pk).exists()


def test_a_threads_pool_worker_reads_captures_that_arrive_together_in_one_pass(
    committed, workers, settings
):
    """Production's reading worker (``--pool=threads --concurrency=8``): a burst of
    captures is read in passes of several crops, each capture gets its own plate."""
    queue = f"{QUEUE}-batch"
    settings.ALPR_OCR_QUEUE = queue  # this test's captures go to this worker only
    agency = Agency.objects.get(slug="alpha")
    worker = workers("batcher", queue=queue, pool=("--pool=threads", "--concurrency=8"))
    worker.wait_for("ready.", timeout=60)
    texts = [f"BAT{n:04d}" for n in range(2101, 2113)]  # Texas: LLLDDDD
    captures = [_ingest(agency, text, "TX") for text in texts]
    for capture, text in zip(captures, texts, strict=True):
        read = _wait_read(agency, capture.pk, timeout=120)
        assert read.status == Capture.Status.READ, worker.text()[-2000:]
        assert read.machine_plate == text
    passes = [int(n) for n in re.findall(r"read (\d+) crops in one pass", worker.text())]
    assert passes, worker.text()[-2000:]
    assert max(passes) > 1
