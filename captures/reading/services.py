"""Writes of plate reading: queue a capture for reading, read it, store the reading, requeue.

Every function works in the current agency schema. Reading is idempotent: a capture that is
no longer pending is skipped, and the reading is stored under a row lock, so a redelivered or
duplicated message never reads a capture twice.

The reading task is sent by its name through the Celery app, not imported: the task module
(``captures.tasks``) imports this one, and nothing here imports it back.
"""

from __future__ import annotations

import datetime
import io
import logging
import re
import time
import uuid

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context
from PIL import Image

from captures.hotlists.matching import match_read
from captures.hotlists.models import Hit
from captures.models import Capture
from captures.reading import get_reader
from captures.reading.matching import match_key
from captures.reading.result import PlateReading
from captures.storage import image_files
from tenants import metrics
from tenants.schemas import current_schema

logger = logging.getLogger(__name__)

# The reading task's registered name (``captures.tasks.read_capture``).
READ_TASK = "captures.read_capture"
# At most this many captures are queued again per agency and run: the next run takes the rest.
REQUEUE_BATCH = 1000
_STATE_RE = re.compile(r"^[A-Z]{2}$")


class ReaderFailed(Exception):
    """The plate reader raised (the original error is the cause); the task tries again."""


def enqueue_reading(*, capture_id: str, schema: str | None = None) -> None:
    """Queue the reading of one capture of ``schema`` (default: the current one).

    Sent inside the schema's context, so tenant-schemas-celery gives the message that schema
    and the worker reads the capture there.
    """
    queue = settings.ALPR_OCR_QUEUE or None
    with schema_context(schema or current_schema()):
        current_app.send_task(READ_TASK, args=(capture_id,), queue=queue)


def requeue_pending_reads(*, older_than_seconds: int) -> int:
    """Queue again the captures of this schema still pending after ``older_than_seconds``.

    The safety net for reading messages lost by the broker (Redis runs without persistence).
    Returns how many were queued.
    """
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    ids = list(
        Capture.objects.filter(status=Capture.Status.PENDING, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:REQUEUE_BATCH]
    )
    for pk in ids:
        enqueue_reading(capture_id=str(pk))
    return len(ids)


def _open(name: str) -> Image.Image:
    image = Image.open(io.BytesIO(image_files.load_image(name)))
    image.load()
    return image.convert("RGB")


def capture_read(*, capture_id: str, last_attempt: bool) -> str:
    """Read the plate of one pending capture and store the reading; what happened, in words.

    A capture whose images cannot be decrypted is marked failed at once. When the reader
    itself fails, the capture stays pending and ``ReaderFailed`` is raised so the task tries
    again, unless this is the ``last_attempt``: then the capture is marked failed.  Tasks
    running side by side in one worker (a threads pool) have their crops read in one pass:
    while this one loads and decrypts, the reader's batcher knows a crop is on its way.
    """
    with get_reader().batcher.expecting():
        return _capture_read(capture_id=capture_id, last_attempt=last_attempt)


def _capture_read(*, capture_id: str, last_attempt: bool) -> str:
    capture = (
        Capture.objects.filter(pk=capture_id)
        .only("pk", "status", "plate_image", "vehicle_image")
        .first()
    )
    if capture is None:  # purged or never committed: one line, no traceback
        logger.info("capture %s not found in %s: nothing to read", capture_id, current_schema())
        return "gone"
    if capture.status != Capture.Status.PENDING:
        return f"skipped: already {capture.status}"
    try:
        plate_image = _open(capture.plate_image)
        vehicle_image = _open(capture.vehicle_image) if capture.vehicle_image else None
    except image_files.ImageDecryptError as exc:
        capture_mark_failed(capture_id=capture_id, reason=str(exc))
        return "failed: image cannot be decrypted"
    started = time.perf_counter()
    try:
        reading = get_reader().read_capture(plate_image, vehicle_image)
    except Exception as exc:  # the time limit's SoftTimeLimitExceeded included
        if last_attempt:
            capture_mark_failed(capture_id=capture_id, reason=f"reader error: {exc!r}")
            return "failed: reader error"
        raise ReaderFailed(f"reading capture {capture_id} failed: {exc!r}") from exc
    metrics.READ_SECONDS.observe(time.perf_counter() - started)
    stored = capture_store_reading(capture_id=capture_id, reading=reading)
    if stored is None:
        return "gone"
    metrics.READS.labels(outcome=str(stored.status)).inc()
    if stored.received_at is not None:
        metrics.READ_LAG_SECONDS.observe((timezone.now() - stored.received_at).total_seconds())
    logger.info(
        "capture %s in %s: %s %s (%.0f ms, %s)",
        capture_id,
        current_schema(),
        stored.status,
        stored.machine_plate or "-",
        reading.ms or 0,
        reading.model,
    )
    return str(stored.status)


def capture_store_reading(
    *,
    capture_id: uuid.UUID | str,
    reading: PlateReading,
    now: datetime.datetime | None = None,
) -> Capture | None:
    """Store the recognizer's reading of a pending capture, once.

    Locks the row; a capture that is no longer pending (read by another worker) is returned
    unchanged; a deleted one gives None. No readable plate -> status ``unread`` (the capture
    is kept).
    """
    with transaction.atomic():
        capture = Capture.objects.select_for_update().filter(pk=capture_id).first()
        if capture is None or capture.status != Capture.Status.PENDING:
            return capture
        plate = re.sub(r"[^A-Z0-9]", "", (reading.plate or "").upper())[:16]
        state = (reading.state or "").upper()
        if not _STATE_RE.match(state):
            state = ""
        capture.machine_plate = plate
        capture.machine_state = state if plate else ""
        capture.machine_confidence = reading.confidence if plate else None
        capture.machine_state_confidence = reading.state_confidence if plate and state else None
        capture.plate_box = list(reading.box) if (plate and reading.box) else None
        capture.ocr_model = (reading.model or "")[:40]
        capture.read_at = now or timezone.now()
        capture.status = Capture.Status.READ if plate else Capture.Status.UNREAD
        if capture.review_status == Capture.Review.UNCONFIRMED:
            capture.plate = plate
            capture.state = capture.machine_state
            capture.match_key = match_key(plate)[:16] if plate else ""
        capture.save()
        if plate:
            match_read(
                capture=capture,
                plate=plate,
                state=capture.machine_state,
                confidence=capture.machine_confidence,
                source=Hit.Source.SERVER,
            )
    return capture


def capture_mark_failed(*, capture_id: uuid.UUID | str, reason: str) -> Capture | None:
    """A capture whose images cannot be read at all (e.g. destroyed key) stops being pending."""
    with transaction.atomic():
        capture = Capture.objects.select_for_update().filter(pk=capture_id).first()
        if capture is None or capture.status != Capture.Status.PENDING:
            return capture
        capture.status = Capture.Status.FAILED
        capture.read_at = timezone.now()
        capture.save(update_fields=["status", "read_at"])
    logger.warning("capture %s could not be read: %s", capture_id, reason)
    return capture
