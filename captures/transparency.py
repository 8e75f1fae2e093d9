"""Figures for an agency's public transparency page, computed from its own data.

Counts and dates only: no plate, name, image or location ever leaves this module.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count
from django.utils import timezone

from audit.models import AccessEvent, Action, Outcome
from captures.models import Camera
from captures.retention import visible_captures
from tenants.models import Agency

WINDOW_DAYS = 30


@dataclass(frozen=True)
class PurposeCount:
    category: str
    count: int


@dataclass(frozen=True)
class TransparencyFigures:
    window_days: int
    since: datetime.datetime
    retention_days: int
    active_cameras: int
    captures_in_window: int
    searches_in_window: int
    searches_by_purpose: list[PurposeCount]
    hotlists_in_use: bool
    hotlist_hits_in_window: int | None
    shared_with: list[str]
    last_purge_at: datetime.datetime | None
    last_audit_verification_at: datetime.datetime | None


def _category_label(value: str) -> str:
    if not value:
        return "Not stated"
    if value == value.lower() and " " not in value:  # a code such as "stolen_vehicle"
        return value.replace("_", " ").replace("-", " ").capitalize()
    return value


def _hotlist_hits(since: datetime.datetime) -> int | None:
    """Hits in the window when the agency runs hotlists; None when no hotlist feature exists."""
    try:
        hit_model = apps.get_model("captures", "HotlistHit")
    except LookupError:
        return None
    return hit_model.objects.filter(created_at__gte=since).count()


def _last_event_at(action: str) -> datetime.datetime | None:
    return (
        AccessEvent.objects.filter(action=action, outcome=Outcome.ALLOWED)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def last_successful_purge_at() -> datetime.datetime | None:
    """The end of the latest purge run that finished its work (partial runs don't count)."""
    return (
        AccessEvent.objects.filter(
            action=Action.PURGE, outcome=Outcome.ALLOWED, details__complete=True
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def transparency_figures(
    *, agency: Agency, now: datetime.datetime | None = None
) -> TransparencyFigures:
    """Run in the agency's schema (the request's tenant)."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=WINDOW_DAYS)
    searches = AccessEvent.objects.filter(
        action=Action.SEARCH, outcome=Outcome.ALLOWED, occurred_at__gte=since
    )
    by_purpose = [
        PurposeCount(category=_category_label(row["purpose_category"]), count=row["n"])
        for row in searches.values("purpose_category")
        .annotate(n=Count("id"))
        .order_by("-n", "purpose_category")
    ]
    hits = _hotlist_hits(since)
    return TransparencyFigures(
        window_days=WINDOW_DAYS,
        since=since,
        retention_days=agency.retention_days,
        active_cameras=Camera.objects.filter(active=True).count(),
        captures_in_window=visible_captures(agency, now=now).filter(captured_at__gte=since).count(),
        searches_in_window=sum(p.count for p in by_purpose),
        searches_by_purpose=by_purpose,
        hotlists_in_use=hits is not None,
        hotlist_hits_in_window=hits,
        shared_with=[],
        last_purge_at=last_successful_purge_at(),
        last_audit_verification_at=_last_event_at(Action.AUDIT_VERIFIED),
    )
