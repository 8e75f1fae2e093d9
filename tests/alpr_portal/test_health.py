"""/healthz, /metrics and request ids (alpr_portal.health, alpr_portal.observability,
audit.context), against the real Redis and database."""

from __future__ import annotations

import datetime
import io
import json
import logging
import uuid

import pytest
from django.test import Client
from django.utils import timezone
from pythonjsonlogger.json import JsonFormatter

from alpr_portal import health
from alpr_portal.tasks import health_beat
from audit.context import RequestIdFilter, RequestIdMiddleware
from audit.models import Action, Outcome
from audit.services import record_event
from captures.ingest.services import camera_create
from tests.support import api_post, events

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_queues(settings):
    """Queues of this test only, so heartbeats of other stacks on the same Redis don't count."""
    tag = uuid.uuid4().hex[:8]
    settings.ALPR_OCR_QUEUE = f"t-reading-{tag}"
    settings.ALPR_PURGE_QUEUE = f"t-purge-{tag}"
    settings.ALPR_AUDIT_QUEUE = f"t-audit-{tag}"
    settings.ALPR_AUDIT_PRUNE_QUEUE = f"t-audit-{tag}"
    yield health.queues()
    client = health.redis_client()
    for queue in health.queues():
        client.delete(health.WORKER_KEY + queue, queue)


def _all_beating(now=None) -> None:
    health.record_beat(now=now)
    for queue in health.queues():
        health.record_heartbeat(queue, now=now)


def test_healthz_is_200_when_beat_and_every_queue_worker_are_fresh(own_queues, agency_a):
    _all_beating()
    response = Client(HTTP_HOST="alpha.localhost").get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["workers"]) == set(own_queues)
    assert set(body["agencies"]) == {"alpha"}  # an agency's host shows that agency only
    assert body["database"]["ok"]
    assert body["redis"]["ok"]
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_names_a_queue_without_a_worker_and_stale_beat(own_queues, agency_a, settings):
    old = timezone.now() - datetime.timedelta(seconds=settings.ALPR_HEALTH_HEARTBEAT_SECONDS + 5)
    _all_beating()
    health.record_beat(now=old)
    health.redis_client().delete(health.WORKER_KEY + settings.ALPR_PURGE_QUEUE)
    response = Client(HTTP_HOST="alpha.localhost").get("/healthz")
    assert response.status_code == 503
    failing = response.json()["failing"]
    assert "beat" in failing
    assert f"worker:{settings.ALPR_PURGE_QUEUE}" in failing
    assert f"worker:{settings.ALPR_OCR_QUEUE}" not in failing


def test_a_long_queue_fails_the_check(own_queues, agency_a, settings):
    settings.ALPR_HEALTH_MAX_QUEUE = 3
    _all_beating()
    client = health.redis_client()
    client.rpush(settings.ALPR_OCR_QUEUE, *[b"{}"] * 4)
    report = health.report(agencies=[agency_a])
    assert report.checks["queues"][settings.ALPR_OCR_QUEUE] == 4
    assert report.failing == [f"queue:{settings.ALPR_OCR_QUEUE}"]


def test_nightly_jobs_of_an_agency_go_stale_after_a_day(own_queues, agency_a, in_agency):
    later = timezone.now() + datetime.timedelta(hours=27)
    _all_beating(now=later)
    report = health.report(agencies=[agency_a], now=later)
    assert report.failing == ["agency:alpha"]  # no purge, no verification, agency a day old
    with in_agency(agency_a):
        record_event(action=Action.PURGE, username="t", details={"complete": True})
        record_event(action=Action.AUDIT_VERIFIED, username="t")
    assert health.report(agencies=[agency_a]).checks["agencies"]["alpha"]["ok"]
    with in_agency(agency_a):
        record_event(action=Action.AUDIT_VERIFIED, username="t", outcome=Outcome.FAILED)
    status = health.report(agencies=[agency_a]).checks["agencies"]["alpha"]
    assert not status["ok"]
    assert status["last_verification_ok"] is False


def test_health_beat_stamps_beat_and_sends_a_heartbeat_into_every_queue(own_queues):
    client = health.redis_client()
    client.delete(health.BEAT_KEY)
    sent = health_beat.apply().get()
    assert sent == len(own_queues)
    assert client.get(health.BEAT_KEY) is not None
    for queue in own_queues:
        assert health.queue_depth(client, queue) == 1, queue  # waiting for that queue's worker


def test_metrics_count_requests_and_ingested_captures(
    agency_a, own_queues, django_capture_on_commit_callbacks, in_agency, settings, tmp_path
):
    settings.ALPR_STORAGE_DIR = tmp_path
    with in_agency(agency_a):
        camera = camera_create(name=f"metrics-{uuid.uuid4().hex[:6]}", latitude=1, longitude=1)
    metrics_client = Client(HTTP_HOST="localhost", REMOTE_ADDR="127.0.0.1")

    def ingested() -> float:
        text = metrics_client.get("/metrics").content.decode()
        for line in text.splitlines():
            if line.startswith('alpr_captures_ingested_total{schema="alpha"}'):
                return float(line.split()[-1])
        return 0.0

    before = ingested()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_post(Client(HTTP_HOST="alpha.localhost"), camera.api_key)
    assert response.status_code == 201
    text = metrics_client.get("/metrics").content.decode()
    assert ingested() == before + 1
    assert 'alpr_http_requests_total{method="POST",status="201",view="api-capture-create"}' in text
    assert "alpr_queue_depth{" in text
    assert 'alpr_last_verification_ok{agency="alpha"}' in text


def test_the_request_id_is_answered_and_lands_in_the_access_log_entry(agency_a):
    rid = "proxy-" + uuid.uuid4().hex
    client = Client(HTTP_HOST="alpha.localhost")
    response = client.post(
        "/accounts/login/", {"username": "nobody", "password": "x" * 12}, HTTP_X_REQUEST_ID=rid
    )
    assert response["X-Request-ID"] == rid
    failed = events(agency_a, action=Action.LOGIN_FAILED, actor_username="nobody")
    assert failed[-1].details["request_id"] == rid
    mine = Client(HTTP_HOST="alpha.localhost").get("/policy/", HTTP_X_REQUEST_ID="bad id!")
    assert len(mine["X-Request-ID"]) == 32  # not a sane token: a new one


def test_json_log_lines_carry_the_request_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s"))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("tests.health.json")
    logger.addHandler(handler)
    logger.propagate = False

    def view(request):
        logger.warning("inside the request")
        from django.http import HttpResponse

        return HttpResponse("ok")

    from django.test import RequestFactory

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="abcdef123456")
    response = RequestIdMiddleware(view)(request)
    logger.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["request_id"] == "abcdef123456" == response["X-Request-ID"]
    assert line["message"] == "inside the request"
