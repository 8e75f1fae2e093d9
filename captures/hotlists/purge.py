"""The nightly upkeep of hotlists, run by the purge task after the capture purge.

- Expired entries are deleted (they stopped matching when they expired: the lookup compares
  ``expires_at`` with now).
- Hits whose capture the purge removed (the foreign key is set to NULL) are deleted, except
  confirmed hits linked to a case: their record stays, without the images (which went with the
  capture).
- Reads per UTC day are counted for the reports before their captures go (``ReadTally``).

One ``hotlist_purge`` access-log entry per run with the counts (never a plate).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.models import Action
from audit.services import record_event
from captures.hotlists.models import Hit, HotlistEntry, ReadTally
from captures.models import Capture


@dataclass(frozen=True)
class HotlistPurge:
    entries_removed: int
    hits_removed: int
    hits_kept: int
    days_tallied: int


def reads_tally(*, now: datetime.datetime | None = None) -> int:
    """Count the reads (captures with a plate) of each finished UTC day not yet counted."""
    today = (now or timezone.now()).astimezone(datetime.UTC).date()
    last = ReadTally.objects.order_by("-day").values_list("day", flat=True).first()
    end = datetime.datetime.combine(today, datetime.time(), tzinfo=datetime.UTC)
    reads = Capture.objects.filter(captured_at__lt=end).exclude(plate="", edge_plate="")
    if last is not None:
        start = datetime.datetime.combine(
            last + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
        )
        reads = reads.filter(captured_at__gte=start)
    per_day = (
        reads.annotate(day=TruncDate("captured_at", tzinfo=datetime.UTC))
        .values("day")
        .annotate(n=Count("pk"))
    )
    tallies = [ReadTally(day=row["day"], reads=row["n"]) for row in per_day]
    ReadTally.objects.bulk_create(tallies, ignore_conflicts=True)
    return len(tallies)


def hits_release() -> tuple[int, int]:
    """Delete the hits whose capture is gone, except confirmed ones linked to a case."""
    detached = Hit.objects.filter(capture__isnull=True)
    kept = Q(status=Hit.Status.CONFIRMED) & ~Q(case_number="")
    removed, _ = detached.exclude(kept).delete()
    return removed, detached.filter(kept).count()


def hotlists_purge(*, now: datetime.datetime | None = None, username: str = "") -> HotlistPurge:
    """Remove expired entries and released hits, count reads; one ``hotlist_purge`` entry."""
    now = now or timezone.now()
    with transaction.atomic():
        days = reads_tally(now=now)
        entries, _ = HotlistEntry.objects.filter(expires_at__lte=now).delete()
        hits, kept = hits_release()
        result = HotlistPurge(
            entries_removed=entries, hits_removed=hits, hits_kept=kept, days_tallied=days
        )
        record_event(
            action=Action.HOTLIST_PURGE,
            username=username or None,
            details={
                "what": "hotlists",
                "expired_entries_removed": entries,
                "hits_removed": hits,
                "hits_kept_without_capture": kept,
                "read_days_counted": days,
                "cutoff": now.isoformat(),
            },
        )
    return result
