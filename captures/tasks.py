"""Background work of the captures app: reading plates.

``read_capture`` runs in the capture's agency schema (tenant-schemas-celery carries the
schema in the message headers). It is idempotent: a capture that is no longer pending is
skipped, and the reading is stored under a row lock, so a redelivered or duplicated
message never reads a capture twice. Messages are acknowledged only after the task
finished (late acks) and are given back to the queue when the worker dies, so a killed
worker does not lose a capture. ``requeue_pending_captures`` is the safety net for
messages lost by the broker (Redis runs without persistence): it re-queues captures that
stayed pending too long.
"""

from __future__ import annotations

import datetime
import io
import logging
import threading
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from PIL import Image

from captures.ingest.services import capture_mark_failed, capture_store_reading, enqueue_reading
from captures.models import Capture
from captures.storage import image_files

logger = logging.getLogger(__name__)

READ_TIME_LIMIT = 120  # seconds; a plate read takes well under a second once loaded
READ_MAX_RETRIES = 5
_reader = None
_reader_lock = threading.Lock()


def reader():
    """The plate reader, loaded once per worker process (the model takes seconds to load)."""
    global _reader
    if _reader is None:
        with _reader_lock:
            if _reader is None:
                from captures.reading import get_reader

                started = time.monotonic()
                _reader = get_reader()
                logger.info("plate reader loaded in %.1f s", time.monotonic() - started)
    return _reader


def _open(name: str) -> Image.Image:
    image = Image.open(io.BytesIO(image_files.load_image(name)))
    image.load()
    return image.convert("RGB")


@shared_task(
    bind=True,
    name="captures.read_capture",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=READ_MAX_RETRIES,
    time_limit=READ_TIME_LIMIT,
    soft_time_limit=READ_TIME_LIMIT - 15,
)
def read_capture(self, capture_id: str) -> str:
    """Read the plate of one capture and store the reading. Returns what happened."""
    capture = (
        Capture.objects.filter(pk=capture_id)
        .only("pk", "status", "plate_image", "vehicle_image")
        .first()
    )
    if capture is None:
        return "gone"  # purged or never committed
    if capture.status != Capture.Status.PENDING:
        return f"skipped: already {capture.status}"
    try:
        plate_image = _open(capture.plate_image)
        vehicle_image = _open(capture.vehicle_image) if capture.vehicle_image else None
    except image_files.ImageDecryptError as exc:
        capture_mark_failed(capture_id=capture_id, reason=str(exc))
        return "failed: image cannot be decrypted"
    try:
        reading = reader().read_capture(plate_image, vehicle_image)
    except (SoftTimeLimitExceeded, Exception) as exc:
        if self.request.retries >= self.max_retries:
            capture_mark_failed(capture_id=capture_id, reason=f"reader error: {exc!r}")
            return "failed: reader error"
        countdown = min(300, 5 * 2**self.request.retries)
        logger.warning("reading capture %s failed (%r); retry in %s s", capture_id, exc, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    stored = capture_store_reading(capture_id=capture_id, reading=reading)
    if stored is None:
        return "gone"
    logger.info(
        "capture %s in %s: %s %s (%.0f ms, %s)",
        capture_id,
        connection.schema_name,
        stored.status,
        stored.machine_plate or "-",
        reading.ms or 0,
        reading.model,
    )
    return stored.status


def _waiting_in_queue() -> int:
    """Reading tasks waiting in the broker (0 when unknown)."""
    from celery import current_app

    queue = getattr(settings, "ALPR_OCR_QUEUE", None) or "celery"
    try:
        with current_app.connection_for_read() as conn:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:  # an unknown queue or a broker hiccup: assume nothing is waiting
        return 0


@shared_task(name="captures.requeue_pending_captures", acks_late=True)
def requeue_pending_captures(older_than_seconds: int | None = None) -> int:
    """Re-queue captures pending for too long, in every agency. Run by Celery beat."""
    from tenants.models import Agency

    waiting = _waiting_in_queue()
    if waiting:
        # Messages are still waiting: the workers are behind, nothing was lost. Requeueing now
        # would only pile duplicates on a long queue.
        logger.info("requeue skipped: %s reading tasks still waiting", waiting)
        return 0
    age = older_than_seconds or getattr(settings, "ALPR_OCR_REQUEUE_AFTER_SECONDS", 900)
    cutoff = timezone.now() - datetime.timedelta(seconds=age)
    total = 0
    agencies = Agency.objects.exclude(schema_name=get_public_schema_name())
    for agency in agencies:
        with schema_context(agency.schema_name):
            ids = list(
                Capture.objects.filter(status=Capture.Status.PENDING, received_at__lt=cutoff)
                .order_by("received_at")
                .values_list("pk", flat=True)[:1000]
            )
            for pk in ids:
                enqueue_reading(capture_id=str(pk), schema=agency.schema_name)
            total += len(ids)
    if total:
        logger.info("re-queued %s pending captures", total)
    return total
