"""Reads of the access log for the auditor pages, exports, charts and reports."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Func,
    JSONField,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.fields.json import KT, DataContains
from django.db.models.functions import Cast, Replace, TruncDate
from django.db.models.lookups import Exact
from django.http import Http404

from audit.models import AccessEvent, Action, Flag, Outcome
from tenants.plate_fields import plate_content_types
from tenants.plates import FOLD_FROM, FOLD_TO, match_key

PAGE_SIZE = 50


def own_allowed_entries(
    *, user: AbstractBaseUser | AnonymousUser | None, event_id: Any, action: Action
) -> QuerySet[AccessEvent]:
    """The entry ``event_id`` if it is ``user``'s own, allowed, and of ``action`` (else none).

    How a page proves that what it shows follows a purpose its user stated (a search, a review
    session): an id of someone else's entry, of a refused one, or no number at all, proves
    nothing.
    """
    try:
        pk = int(event_id)
    except (TypeError, ValueError):
        return AccessEvent.objects.none()
    if user is None or not user.is_authenticated or pk <= 0:
        return AccessEvent.objects.none()
    return AccessEvent.objects.filter(
        pk=pk, actor_id=user.pk, action=action, outcome=Outcome.ALLOWED
    )


def local_day_start(day: datetime.date, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def events_filtered(*, filters: dict[str, Any], tz: zoneinfo.ZoneInfo) -> QuerySet[AccessEvent]:
    """Events matching the cleaned filters of ``EventFilterForm``; dates are agency-local."""
    qs = AccessEvent.objects.all()
    if filters.get("user"):
        qs = qs.filter(actor_username=filters["user"])
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("outcome"):
        qs = qs.filter(outcome=filters["outcome"])
    if filters.get("date_from"):
        qs = qs.filter(occurred_at__gte=local_day_start(filters["date_from"], tz))
    if filters.get("date_to"):
        end = filters["date_to"] + datetime.timedelta(days=1)
        qs = qs.filter(occurred_at__lt=local_day_start(end, tz))
    if filters.get("purpose_category"):
        qs = qs.filter(purpose_category__iexact=filters["purpose_category"])
    if filters.get("case_number"):
        qs = qs.filter(case_number=filters["case_number"])
    if filters.get("plate"):
        qs = qs.filter(plate_seen(filters["plate"]))
    if filters.get("element"):
        qs = qs.filter(query__contains=filters["element"])
    if filters.get("agency"):
        qs = _naming_agency(qs, filters["agency"])
    if filters.get("flagged"):
        qs = qs.filter(Exists(Flag.objects.filter(event_id=OuterRef("id"))))
    return qs


def _naming_agency(qs: QuerySet[AccessEvent], slug: str) -> QuerySet[AccessEvent]:
    """Entries of sharing between agencies that name ``slug`` (``*``: any other agency)."""
    if slug == "*":
        return qs.filter(details__has_key="agencies").exclude(details__agencies=[])
    return qs.filter(details__contains={"agencies": [slug]})


class _Like(Lookup):
    """``lhs LIKE rhs`` (backslash escapes), for a value tested against a stored pattern."""

    lookup_name = "alpr_like"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", (*lhs_params, *rhs_params)


def _logged_pattern_as_like() -> Any:
    """A search's logged plate pattern (``*`` any run, ``?`` one character, the rest literal)
    as a SQL LIKE pattern: ``\\``, ``%`` and ``_`` escaped first, then the wildcards."""
    pattern: Any = KT("query__plate")
    for old, new in (("\\", "\\\\"), ("%", "\\%"), ("_", "\\_"), ("*", "%"), ("?", "_")):
        pattern = Replace(pattern, Value(old), Value(new))
    return pattern


def _folded(expression: Any) -> Func:
    """``expression`` with look-alike characters folded, as ``match_key`` folds them."""
    return Func(
        expression, Value(FOLD_FROM), Value(FOLD_TO), function="translate", output_field=CharField()
    )


def _a_read_of(key: str) -> DataContains:
    """``details.reads`` (pages listing reads) holds a read whose folded plate is ``key``: the
    reads' plates as one JSON array of strings, folded as text (brackets, quotes and commas
    are not look-alikes), contain ``key``."""
    plates = Func(
        F("details"),
        Value("$.reads[*].plate"),
        function="jsonb_path_query_array",
        output_field=JSONField(),
    )
    folded = Cast(_folded(Cast(plates, TextField())), JSONField())
    return DataContains(folded, Value([key], output_field=JSONField()))


def plate_seen(plate: str) -> Q:
    """Entries in which ``plate`` was searched for or seen: "who looked at this plate?".

    Searches for it (exact, or a wildcard pattern that matches it) and everything that
    showed a read of it: capture pages and review items (``details.plate``, the plate read
    then), results pages, printouts and other pages listing reads (``details.reads``), and
    access-log exports filtered by it (``query.plate``). ``plate`` is upper-case without
    separators, as the search stores plates. Look-alike characters are folded on both sides
    (``match_key``: O/0, I/1/L, B/8...), so ``ABC1O3`` finds what was logged as ``ABC103``.
    """
    key = match_key(plate)
    folded_plate = _folded(Value(plate, output_field=CharField()))
    wildcard = Q(action=Action.SEARCH, query__plate__regex=r"[*?]") & Q(
        _Like(folded_plate, _folded(_logged_pattern_as_like()))
    )
    return (
        Q(Exact(_folded(KT("query__plate")), Value(key)))
        | Q(Exact(_folded(KT("details__plate")), Value(key)))
        | Q(_a_read_of(key))
        | wildcard
    )


@dataclass
class Page:
    events: list[AccessEvent]
    newer_cursor: int | None  # pass as ``before`` for the newer page
    older_cursor: int | None  # pass as ``after`` for the older page


def events_page(
    qs: QuerySet[AccessEvent],
    *,
    after: int | None = None,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Keyset pagination, newest first: constant cost per page however deep."""
    if before is not None:
        rows = list(qs.filter(id__gt=before).order_by("id")[: size + 1])
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_older = bool(rows) and qs.filter(id__lt=rows[-1].id).exists()
    else:
        if after is not None:
            qs = qs.filter(id__lt=after)
        rows = list(qs.order_by("-id")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = after is not None and bool(rows)
    return Page(
        events=rows,
        newer_cursor=rows[0].id if rows and has_newer else None,
        older_cursor=rows[-1].id if rows and has_older else None,
    )


def event_get(*, event_id: int) -> AccessEvent:
    """An event of the current schema (other agencies' ids simply do not exist here)."""
    event = AccessEvent.objects.filter(id=event_id).first()
    if event is None:
        raise Http404("No such access-log entry in this agency.")
    return event


def flags_for_events(event_ids: list[int]) -> dict[int, list[Flag]]:
    out: dict[int, list[Flag]] = {}
    for flag in Flag.objects.filter(event_id__in=event_ids).order_by("kind"):
        out.setdefault(flag.event_id, []).append(flag)
    return out


def searches_per_day_by_category(
    *, start: datetime.datetime, end: datetime.datetime, tz: zoneinfo.ZoneInfo, **filters: Any
) -> dict[datetime.date, dict[str, int]]:
    rows = (
        AccessEvent.objects.filter(
            action=Action.SEARCH, occurred_at__gte=start, occurred_at__lt=end, **filters
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("day", "purpose_category")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    out: dict[datetime.date, dict[str, int]] = {}
    for row in rows:
        out.setdefault(row["day"], {})[row["purpose_category"] or "(none)"] = row["n"]
    return out


def searches_per_user(
    *, start: datetime.datetime, end: datetime.datetime, limit: int = 25
) -> list[tuple[str, int, int]]:
    """(username, searches, refused) for the period, busiest first."""
    rows = (
        AccessEvent.objects.filter(
            action=Action.SEARCH, occurred_at__gte=start, occurred_at__lt=end
        )
        .values("actor_username")
        .annotate(n=Count("id"), refused=Count("id", filter=~Q(outcome=Outcome.ALLOWED)))
        .order_by("-n", "actor_username")[:limit]
    )
    return [(r["actor_username"] or "(unknown)", r["n"], r["refused"]) for r in rows]


def period_summary(*, start: datetime.datetime, end: datetime.datetime) -> dict[str, Any]:
    """Counts for the report: events by action and outcome, purposes, flags."""
    events = AccessEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    by_action = dict(
        events.values_list("action").annotate(n=Count("id")).order_by().values_list("action", "n")
    )
    searches = events.filter(action=Action.SEARCH)
    purposes = list(
        searches.values("purpose_category")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("purpose_category", "n")
    )
    flags = Flag.objects.filter(event_at__gte=start, event_at__lt=end)
    flags_by_kind = dict(
        flags.values("kind").annotate(n=Count("id")).order_by().values_list("kind", "n")
    )
    return {
        "events": events.count(),
        "by_action": by_action,
        "searches": searches.count(),
        "searches_refused": searches.exclude(outcome=Outcome.ALLOWED).count(),
        "searches_without_case": searches.filter(case_number="").count(),
        "purposes": [[p or "(none)", n] for p, n in purposes],
        "users": [list(row) for row in searches_per_user(start=start, end=end, limit=50)],
        "flags": flags.count(),
        "flags_open": flags.filter(reviewed_at__isnull=True).count(),
        "flags_by_kind": flags_by_kind,
    }


# --- Model-change history (django-auditlog) ---------------------------------------------------


def configuration_changes() -> QuerySet[Any]:
    """Change history for the auditors' list: everything except rows of plate models.

    A capture's or a review's history holds its plates (before and after a correction); it is
    shown only on the capture's own page, reached through a logged search
    (``object_change_history``). Plate models are found by their fields
    (``tenants.plate_fields``), so a new one is left out without being named here.
    """
    from auditlog.models import LogEntry

    entries: QuerySet[LogEntry] = LogEntry.objects.select_related("content_type", "actor").order_by(
        "-id"
    )
    excluded = plate_content_types()
    return entries if excluded is None else entries.exclude(excluded)


def object_change_history(*, instances: Iterable[Any]) -> list[Any]:
    """The change history of the given rows (e.g. a capture and its reviews), oldest first.

    For the capture page, which is reached through a logged search and writes its own
    access-log entry; nothing else shows these entries.
    """
    from auditlog.models import LogEntry

    wanted = Q()
    for instance in instances:
        wanted |= Q(content_type__app_label=instance._meta.app_label,
                    content_type__model=instance._meta.model_name,
                    object_pk=str(instance.pk))  # fmt: skip
    if not wanted:
        return []
    return list(
        LogEntry.objects.filter(wanted)
        .select_related("content_type", "actor")
        .order_by("timestamp", "id")
    )
