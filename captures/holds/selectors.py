"""Reads of legal holds: which captures an active hold keeps (asked by the purge and the
retention checks), the holds of a page, and the captures a case touched in the access log."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from audit.models import AccessEvent, Action, Outcome
from captures.holds.models import HeldCapture, LegalHold
from captures.models import Capture
from tenants.models import Agency

MAX_HOLD_DAYS_NOTE = "at most one year"
# Entries whose captures count as "of a case": a read viewed, printed or its image seen under it.
CASE_ACTIONS = (Action.CAPTURE_VIEWED, Action.IMAGE_VIEWED, Action.EXPORT, Action.REVIEW)


def one_year_after(day: datetime.date) -> datetime.date:
    """The same day a year later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def hold_end_instant(agency: Agency, ends_on: datetime.date) -> datetime.datetime:
    """A hold is in force through the whole of its last day, on the agency's clock."""
    next_day = ends_on + datetime.timedelta(days=1)
    return datetime.datetime.combine(next_day, datetime.time.min, tzinfo=agency.tz)


def local_today(agency: Agency, *, now: datetime.datetime | None = None) -> datetime.date:
    return (now or timezone.now()).astimezone(agency.tz).date()


def active_holds(*, now: datetime.datetime | None = None) -> QuerySet[LegalHold]:
    """Holds in force at ``now``: not released and not past their end."""
    return LegalHold.objects.filter(released_at__isnull=True, ends_at__gt=now or timezone.now())


def held_capture_ids(*, now: datetime.datetime | None = None) -> QuerySet[HeldCapture, Any]:
    """Ids of the captures an active hold keeps, as a subquery (``pk__in=...``)."""
    return HeldCapture.objects.filter(hold__in=active_holds(now=now)).values("capture_id")


def held_among(pks: Iterable[uuid.UUID], *, now: datetime.datetime | None = None) -> set[uuid.UUID]:
    """Which of ``pks`` an active hold keeps (one fresh query)."""
    return set(
        HeldCapture.objects.filter(hold__in=active_holds(now=now), capture_id__in=list(pks))
        .values_list("capture_id", flat=True)
        .distinct()
    )


def ended_hold_capture_ids(*, now: datetime.datetime | None = None) -> QuerySet[HeldCapture, Any]:
    """Captures once held by a hold that has ended or was lifted (whether still present)."""
    ended = LegalHold.objects.exclude(pk__in=active_holds(now=now).values("pk"))
    return HeldCapture.objects.filter(hold__in=ended).values("capture_id")


def active_hold_count(*, now: datetime.datetime | None = None) -> int:
    return active_holds(now=now).count()


def holds_listed() -> QuerySet[LegalHold]:
    return LegalHold.objects.order_by("-created_at", "-id")


def hold_captures(hold: LegalHold) -> QuerySet[Capture]:
    """The hold's captures still stored (whatever their age), oldest first."""
    return (
        Capture.objects.filter(pk__in=hold.items.values("capture_id"))
        .select_related("camera")
        .order_by("captured_at", "pk")
    )


def case_capture_ids(*, case_number: str) -> list[uuid.UUID]:
    """Captures the access log connects to ``case_number``: viewed, printed, reviewed or
    their images seen in allowed entries naming the case, in the order first touched."""
    seen: dict[uuid.UUID, None] = {}
    entries = (
        AccessEvent.objects.filter(
            case_number=case_number, action__in=CASE_ACTIONS, outcome=Outcome.ALLOWED
        )
        .order_by("id")
        .values_list("objects_touched", flat=True)
    )
    for objects in entries.iterator(chunk_size=2000):
        for item in objects if isinstance(objects, list) else []:
            if isinstance(item, dict) and item.get("type") == "capture":
                try:
                    seen.setdefault(uuid.UUID(str(item.get("id"))), None)
                except ValueError:
                    continue
    return list(seen)
