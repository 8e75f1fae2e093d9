"""Every background task of the captures app: reading plates, requeueing lost reads, the purge.

One shape for all of them: a task takes ids (never model instances) and calls one service.
Work for every agency is sent by a dispatcher through ``tenants.fanout.fan_out``, which sends
one message per agency inside its schema (tenant-schemas-celery carries the schema); the
per-agency task starts with ``task_agency``. The beat schedule is ``CELERY_BEAT_SCHEDULE`` in
the settings.

``read_capture`` is idempotent (a capture no longer pending is skipped; the reading is stored
under a row lock), acknowledged only after it finished (late acks) and given back to the queue
when its worker dies, so a killed worker neither loses a capture nor reads one twice.
``requeue_pending_captures`` is the safety net for messages the broker lost (Redis runs without
persistence). The purge runs each agency at its own purge hour, in its own time zone.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from celery import Task, current_app, shared_task
from django.conf import settings
from django.utils import timezone

from captures.hotlists.purge import hotlists_purge, reads_tally
from captures.reading.services import (
    READ_TASK,
    ReaderFailed,
    capture_read,
    requeue_pending_reads,
)
from captures.retention.selectors import agencies_due
from captures.retention.services import NIGHTLY_USERNAME, purge_expired
from tenants import metrics
from tenants.fanout import fan_out, task_agency

logger = logging.getLogger(__name__)

READ_TIME_LIMIT = 120  # seconds; a plate read takes well under a second once loaded
READ_MAX_RETRIES = 5


# --- reading plates -----------------------------------------------------------------------


@shared_task(
    bind=True,
    name=READ_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=READ_MAX_RETRIES,
    time_limit=READ_TIME_LIMIT,
    soft_time_limit=READ_TIME_LIMIT - 15,
)
def read_capture(self: Task[Any, Any], capture_id: str) -> str:
    """Read the plate of one capture (in its schema) and store the reading."""
    retries = self.request.retries
    try:
        return capture_read(capture_id=capture_id, last_attempt=retries >= READ_MAX_RETRIES)
    except ReaderFailed as exc:
        countdown = min(300, 5 * 2**retries)
        logger.warning("%s; retry in %s s", exc, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc


def _waiting_in_queue() -> int:
    """Reading tasks waiting in the broker (0 when unknown)."""
    queue = settings.ALPR_OCR_QUEUE or "celery"
    try:
        with current_app.connection_for_read() as conn:
            # kombu's virtual channel; its type stub only knows the abstract base.
            channel: Any = conn.default_channel
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except Exception:  # an unknown queue or a broker hiccup: assume nothing is waiting
        return 0


@shared_task(name="captures.requeue_pending_captures", acks_late=True)
def requeue_pending_captures(older_than_seconds: int | None = None) -> int:
    """Beat, in public: have every agency queue again its captures pending for too long.

    Returns the number of agencies asked (0 while reading tasks are still waiting).
    """
    waiting = _waiting_in_queue()
    if waiting:
        # Messages are still waiting: the workers are behind, nothing was lost. Requeueing now
        # would only pile duplicates on a long queue.
        logger.info("requeue skipped: %s reading tasks still waiting", waiting)
        return 0
    age = older_than_seconds or settings.ALPR_OCR_REQUEUE_AFTER_SECONDS
    return len(fan_out(requeue_agency_reads, older_than_seconds=age))


@shared_task(name="captures.requeue_agency_reads", acks_late=True)
def requeue_agency_reads(agency_id: int, older_than_seconds: int) -> int:
    """Queue again one agency's captures pending longer than ``older_than_seconds``."""
    task_agency(agency_id)
    count = requeue_pending_reads(older_than_seconds=older_than_seconds)
    if count:
        logger.info("re-queued %s pending captures", count)
    return count


# --- the retention purge ------------------------------------------------------------------


@shared_task(name="captures.purge.purge_dispatch", ignore_result=True)
def purge_dispatch(now_iso: str | None = None) -> list[str]:
    """Beat, hourly in public: one ``purge_agency`` task per agency whose purge hour it is."""
    now = datetime.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    sent = fan_out(purge_agency, agencies=agencies_due(now=now), queue=settings.ALPR_PURGE_QUEUE)
    return [agency.slug for agency in sent]


@shared_task(
    name="captures.purge.purge_agency",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def purge_agency(agency_id: int) -> dict[str, Any]:
    """Purge one agency (in its schema); a run out of time budget sends its continuation."""
    agency = task_agency(agency_id)
    budget = max(settings.CELERY_TASK_SOFT_TIME_LIMIT - 60, 30)
    reads_tally()  # count the reads of finished days before their captures go
    try:
        result = purge_expired(agency=agency, max_seconds=budget, username=NIGHTLY_USERNAME)
    except Exception:
        metrics.PURGE_RUNS.labels(schema=agency.schema_name, outcome="failed").inc()
        raise
    metrics.PURGE_SECONDS.observe(result.duration_seconds)
    metrics.PURGE_ROWS.labels(schema=agency.schema_name).inc(result.captures_deleted)
    metrics.PURGE_FILES.labels(schema=agency.schema_name).inc(
        result.files_deleted + result.orphan_files_deleted
    )
    outcome = "complete" if result.complete else "partial"
    metrics.PURGE_RUNS.labels(schema=agency.schema_name, outcome=outcome).inc()
    if result.budget_exhausted:
        fan_out(purge_agency, agencies=[agency], queue=settings.ALPR_PURGE_QUEUE)
    else:
        # Expired entries, and the hits of purged captures (but confirmed hits with a case).
        hotlists_purge(username=NIGHTLY_USERNAME)
    return result.as_details()
