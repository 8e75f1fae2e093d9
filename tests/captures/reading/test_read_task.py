"""The reading task's bookkeeping, run in-process with a stand-in reader.

The real reader in a real worker is exercised by test_worker.py; here the reader is a
stand-in so each outcome (read, unread, already read, undecryptable) is cheap to reach.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

import captures.reading as reading
from captures import tasks
from captures.ingest.services import capture_ingest
from captures.models import Capture
from captures.reading import PlateReading
from captures.reading.batching import ReadBatcher
from captures.storage import image_files
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db


class StandInReader:
    def __init__(self, reading: PlateReading):
        self.reading = reading
        self.calls = 0
        self.batcher = ReadBatcher(lambda images: [reading for _ in images])

    def read_capture(self, plate_image, vehicle_image=None) -> PlateReading:
        assert plate_image.size == (360, 180)  # decrypted and decoded
        self.calls += 1
        return self.reading


def _reading(plate, state="CA", box=None) -> PlateReading:
    return PlateReading(plate, 0.9 if plate else None, state, 0.8, box, "stand-in", 12.0)


@pytest.fixture
def capture(agency_a, camera_a):
    with schema_context(agency_a.schema_name):
        return capture_ingest(
            camera=camera_a.camera,
            agency=agency_a,
            plate_image=image_bytes("8BOS123"),
            captured_at=timezone.now() - datetime.timedelta(minutes=2),
        ).capture


def _run(agency, capture_id, reader, monkeypatch):
    monkeypatch.setattr(reading, "_reader", reader)
    with schema_context(agency.schema_name):
        result = tasks.read_capture.apply(args=[str(capture_id)]).get()
        return result, Capture.objects.get(pk=capture_id)


def test_reading_is_stored_once(agency_a, capture, monkeypatch):
    reader = StandInReader(_reading("8BOS123", box=(1, 2, 3, 4)))
    result, stored = _run(agency_a, capture.pk, reader, monkeypatch)
    assert result == "read"
    assert (stored.status, stored.machine_plate, stored.machine_state) == ("read", "8BOS123", "CA")
    assert (stored.plate, stored.state) == ("8BOS123", "CA")
    assert stored.match_key == "8805123"  # B->8, O->0, S->5 folded
    assert stored.plate_box == [1, 2, 3, 4]
    assert stored.machine_confidence == 0.9
    assert stored.ocr_model == "stand-in"
    again, _ = _run(agency_a, capture.pk, reader, monkeypatch)
    assert again.startswith("skipped")
    assert reader.calls == 1


def test_no_readable_plate_is_kept_as_unread(agency_a, capture, monkeypatch):
    result, stored = _run(agency_a, capture.pk, StandInReader(_reading(None, None)), monkeypatch)
    assert result == "unread"
    assert stored.status == "unread"
    assert stored.plate == ""
    assert stored.read_at is not None


def test_undecryptable_capture_is_marked_failed(agency_a, capture, monkeypatch):
    with schema_context(agency_a.schema_name):
        image_files.destroy_day_key(capture.key_day)
    reader = StandInReader(_reading("X"))
    result, stored = _run(agency_a, capture.pk, reader, monkeypatch)
    assert result.startswith("failed")
    assert stored.status == "failed"
    assert reader.calls == 0


def test_unknown_capture_is_ignored(agency_a, monkeypatch):
    import uuid

    monkeypatch.setattr(reading, "_reader", StandInReader(_reading("X")))
    with schema_context(agency_a.schema_name):
        assert tasks.read_capture.apply(args=[str(uuid.uuid4())]).get() == "gone"


def _queued_reads(client, queue: str, capture_id) -> list[dict]:
    import json

    messages = [json.loads(m) for m in client.lrange(queue, 0, -1)]
    return [
        m
        for m in messages
        if m["headers"]["task"] == "captures.read_capture"
        and str(capture_id) in json.dumps(m["body"]) + str(m["headers"].get("argsrepr"))
    ]


def test_captures_pending_too_long_are_queued_again_in_their_schema(agency_a, capture, settings):
    import uuid

    import redis

    queue = f"alpr-test-requeue-{uuid.uuid4().hex[:8]}"
    settings.ALPR_OCR_QUEUE = queue
    with schema_context(agency_a.schema_name):
        Capture.objects.filter(pk=capture.pk).update(
            received_at=timezone.now() - datetime.timedelta(hours=1)
        )
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        with schema_context(agency_a.schema_name):
            task = tasks.requeue_agency_reads.apply(args=[agency_a.id, 600])
        assert task.get() >= 1
        ours = _queued_reads(client, queue, capture.pk)
        assert len(ours) == 1
        assert ours[0]["headers"]["_schema_name"] == agency_a.schema_name
        # A capture pending for less than the age given stays where it is.
        with schema_context(agency_a.schema_name):
            tasks.requeue_agency_reads.apply(args=[agency_a.id, 2 * 3600]).get()
        assert len(_queued_reads(client, queue, capture.pk)) == 1
    finally:
        client.delete(queue)


def test_the_requeue_asks_every_agency_unless_reads_are_still_waiting(
    agency_a, agency_b, settings, django_capture_on_commit_callbacks
):
    import uuid

    import redis

    queue = f"alpr-test-requeue-{uuid.uuid4().hex[:8]}"
    settings.ALPR_OCR_QUEUE = queue
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        with django_capture_on_commit_callbacks() as sends:
            asked = tasks.requeue_pending_captures.apply(kwargs={"older_than_seconds": 600}).get()
        assert asked >= 2  # one per agency, platform excluded
        assert len(sends) == asked
        # While messages are still waiting in the queue, nothing is added on top of them.
        client.rpush(queue, b"{}")
        with django_capture_on_commit_callbacks() as sends:
            asked = tasks.requeue_pending_captures.apply(kwargs={"older_than_seconds": 600}).get()
        assert asked == 0
        assert sends == []
    finally:
        client.delete(queue)
