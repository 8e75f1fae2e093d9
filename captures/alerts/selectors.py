"""Reads of alerts and hotlist figures: the alert queue, what the banner polls, the reports.

An alert is a hit of a list that alerts officers. Hits are seen while their capture is within
retention (``visible_captures``), and afterwards only the records of confirmed hits linked to
a case (without images). Nothing here shows a plate except the alert page itself, which is
logged by ``services.alert_view``.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse

from audit.models import AccessEvent, Action, Outcome
from captures.hotlists.models import Hit, Hotlist, HotlistEntry, HotlistPolicy, ReadTally
from captures.models import Capture
from captures.retention.selectors import visible_captures
from tenants.models import Agency

KEPT = Q(capture__isnull=True, status=Hit.Status.CONFIRMED) & ~Q(case_number="")
POLL_ROWS = 100  # open alerts the live table shows; more are counted, never silently dropped
HISTORY_PAGE = 50
OPEN = Q(status=Hit.Status.NEW) | Q(status=Hit.Status.CONFIRMED, outcome="")


def visible_hits(agency: Agency) -> QuerySet[Hit]:
    return Hit.objects.filter(Q(capture__in=visible_captures(agency)) | KEPT)


def alert_queue(agency: Agency) -> QuerySet[Hit]:
    return visible_hits(agency).filter(alerts=True).order_by("-id")


def new_alerts(agency: Agency) -> QuerySet[Hit]:
    return alert_queue(agency).filter(status=Hit.Status.NEW)


def open_alerts(agency: Agency) -> QuerySet[Hit]:
    """Alerts someone still has to deal with: not yet decided, or confirmed with no outcome."""
    return alert_queue(agency).filter(OPEN)


def decided_alerts(agency: Agency, status: str = "") -> QuerySet[Hit]:
    """The history: alerts decided (and, when confirmed, acted on), newest first."""
    decided = alert_queue(agency).exclude(OPEN)
    return decided.filter(status=status) if status else decided


ROW_FIELDS = ("pk", "hotlist_name", "reason", "camera_name", "matched_at", "status", "rule")


def alert_rows(hits: QuerySet[Hit] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for the alert tables (no plates, only what and where)."""
    rows = hits.values(*ROW_FIELDS) if isinstance(hits, QuerySet) else hits
    reasons = dict(Hit._meta.get_field("reason").choices or [])
    statuses = dict(Hit.Status.choices)
    return [
        {
            "id": row["pk"],
            "list": row["hotlist_name"],
            "reason": str(reasons.get(row["reason"], row["reason"])),
            "camera": row["camera_name"],
            "at": row["matched_at"].isoformat(),
            "when": row["matched_at"],  # shown in the agency's time zone on the page
            "status": row["status"],
            "status_label": str(statuses.get(row["status"], row["status"])),
            "similar": row["rule"] != Hit.Rule.EXACT,
            "url": reverse("captures:alert", kwargs={"hit_id": row["pk"]}),
        }
        for row in rows
    ]


def poll_payload(agency: Agency) -> dict[str, Any]:
    """What the alert banner and the alert page poll for: no plates, only what and where.

    The table holds every open alert up to ``POLL_ROWS``; ``more`` counts the ones beyond it,
    so a busy day never hides an alert without saying so."""
    new = new_alerts(agency)
    waiting = open_alerts(agency)
    total = waiting.count()
    return {
        "new": new.count(),
        "newest_new": new.values_list("pk", flat=True).first(),
        "open": total,
        "more": max(0, total - POLL_ROWS),
        "alerts": alert_rows(list(waiting.values(*ROW_FIELDS)[:POLL_ROWS])),
    }


def agency_lists() -> QuerySet[Hotlist]:
    return Hotlist.objects.filter(kind=Hotlist.Kind.AGENCY, active=True).order_by("name")


def typed_entries() -> QuerySet[HotlistEntry]:
    return HotlistEntry.objects.filter(hotlist__kind=Hotlist.Kind.AGENCY).select_related("hotlist")


# --- reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRow:
    month: datetime.date
    hotlist: str
    reason: str
    hits: int
    confirmed: int
    misreads: int
    state_mismatches: int
    invalid: int
    outcomes: dict[str, int]


def reads_per_month(agency: Agency) -> dict[datetime.date, int]:
    """Reads matched per month (UTC): counted days, plus the days not counted yet."""
    months: dict[datetime.date, int] = defaultdict(int)
    for row in (
        ReadTally.objects.annotate(month=TruncMonth("day")).values("month").annotate(n=Sum("reads"))
    ):
        months[row["month"]] += row["n"] or 0
    last = ReadTally.objects.order_by("-day").values_list("day", flat=True).first()
    recent = Capture.objects.exclude(plate="", edge_plate="")
    if last is not None:
        start = datetime.datetime.combine(
            last + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
        )
        recent = recent.filter(captured_at__gte=start)
    for row in (
        recent.annotate(month=TruncMonth("captured_at", tzinfo=datetime.UTC))
        .values("month")
        .annotate(n=Count("pk"))
    ):
        months[row["month"].date()] += row["n"]
    return dict(months)


def hit_figures(agency: Agency) -> list[MonthRow]:
    """Hits, confirmed hits, misreads and outcomes by month (agency time), list and reason."""
    tz = agency.tz
    rows = (
        Hit.objects.annotate(month=TruncMonth("matched_at", tzinfo=tz))
        .values("month", "hotlist_name", "reason", "status", "outcome")
        .annotate(n=Count("pk"))
    )
    grouped: dict[tuple[Any, str, str], dict[str, Any]] = {}
    reasons = dict(Hit._meta.get_field("reason").choices or [])
    for row in rows:
        key = (row["month"].date(), row["hotlist_name"], str(reasons.get(row["reason"], "")))
        figures = grouped.setdefault(key, {"hits": 0, "outcomes": defaultdict(int)})
        figures["hits"] += row["n"]
        figures[row["status"]] = figures.get(row["status"], 0) + row["n"]
        if row["outcome"]:
            figures["outcomes"][Hit.ActOutcome(row["outcome"]).label] += row["n"]
    return [
        MonthRow(
            month=month,
            hotlist=name,
            reason=reason,
            hits=f["hits"],
            confirmed=f.get(Hit.Status.CONFIRMED, 0),
            misreads=f.get(Hit.Status.MISREAD, 0),
            state_mismatches=f.get(Hit.Status.STATE_MISMATCH, 0),
            invalid=f.get(Hit.Status.ENTRY_INVALID, 0),
            outcomes=dict(f["outcomes"]),
        )
        for (month, name, reason), f in sorted(grouped.items(), reverse=True)
    ]


def entries_by_user() -> list[dict[str, Any]]:
    """Entries typed in per user (from the access log: expired entries included)."""
    rows = (
        AccessEvent.objects.filter(action=Action.HOTLIST_ENTRY_ADDED)
        .values("actor_username")
        .annotate(
            added=Count("pk", filter=Q(outcome=Outcome.ALLOWED)),
            refused=Count("pk", filter=Q(outcome=Outcome.REFUSED)),
        )
        .order_by("-added", "actor_username")
    )
    return [dict(row) for row in rows]


def entries_without_case() -> QuerySet[HotlistEntry]:
    """Entries of agency lists that name no case (possible only for rows made outside the
    entry service, e.g. by hand in the database): each one should be looked at."""
    return typed_entries().filter(case_number="")


@dataclass(frozen=True)
class EntryFlag:
    entry: HotlistEntry
    why: str


def entry_flags(*, now: datetime.datetime | None = None) -> list[EntryFlag]:
    """Agency-entered plates searched many times, and plates entered again after expiry."""
    policy = HotlistPolicy.current()
    flags = [
        EntryFlag(entry, "entered again after an earlier entry of the plate expired")
        for entry in typed_entries().filter(reentered_after_expiry=True)
    ]
    for entry in typed_entries():
        searches = AccessEvent.objects.filter(
            action=Action.SEARCH, query__contains={"plate": entry.plate}
        ).count()
        if searches >= policy.flag_search_count:
            flags.append(
                EntryFlag(
                    entry,
                    f"the plate was searched {searches} times (flag at {policy.flag_search_count})",
                )
            )
    return flags
