"""Reads of plate search: the purpose check, the search itself, its pages, and the searches
that views name as their reason (``?search=<id>``).

Patterns and the query as values: ``captures/search/query.py``.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessEvent, Action
from audit.selectors import own_allowed_entries
from captures.models import AuthorizedPurpose, Camera, Capture, ProhibitedTerm
from captures.retention.selectors import visible_captures
from captures.search.query import SearchQuery, parse_plate_pattern, plate_filter
from tenants.models import Agency

MAP_POINT_LIMIT = 500

# A purpose made only of these words (and punctuation) says nothing about why.
VAGUE_WORDS = frozenset(
    [
        "investigation",
        "investigations",
        "investigate",
        "investigating",
        "inv",
        "invest",
        "test",
        "testing",
        "tests",
        "n/a",
        "na",
        "n",
        "a",
        "none",
        "nothing",
        "no",
        "other",
        "misc",
        "miscellaneous",
        "general",
        "generic",
        "check",
        "checking",
        "routine",
        "inquiry",
        "enquiry",
        "query",
        "search",
        "searching",
        "lookup",
        "look",
        "up",
        "info",
        "information",
        "work",
        "police",
        "business",
        "official",
        "law",
        "enforcement",
        "le",
        "case",
        "cases",
        "officer",
        "stuff",
        "something",
        "just",
        "curious",
        "curiosity",
        "research",
        "random",
        "training",
        "demo",
        "xxx",
        "asdf",
        "tbd",
        "unknown",
        "idk",
        "see",
        "notes",
        "the",
        "a",
        "an",
        "for",
        "of",
        "to",
    ]
)
_WORD = re.compile(r"[a-z0-9/]+")


# --- purpose -------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def is_vague(text: str) -> bool:
    """True when ``text`` names no specifics: only filler words like "investigation" or "n/a"."""
    words = _words(text)
    if not words:
        return True
    return all(word in VAGUE_WORDS or len(word) == 1 and not word.isdigit() for word in words)


def prohibited_terms_in(
    *texts: str, terms: Iterable[ProhibitedTerm] | None = None
) -> list[ProhibitedTerm]:
    """The agency's prohibited terms that appear (as whole words) in any of ``texts``.

    ``terms``: the agency's terms already read (another agency's, read from its schema);
    by default those of the current schema."""
    haystack = " ".join(texts).lower()
    found = []
    for term in ProhibitedTerm.objects.all() if terms is None else terms:
        needle = term.term.strip().lower()
        if not needle:
            continue
        words = r"\s+".join(re.escape(part) for part in needle.split())
        if re.search(rf"(?<![a-z0-9]){words}(?![a-z0-9])", haystack):
            found.append(term)
    return found


# How the purpose messages name what is being asked for, and what a refusal stops.
ACTIVITIES = {
    "search": ("search", "searches", "This search cannot be run."),
    "review": ("review session", "review sessions", "This review session cannot be started."),
    "hotlist": ("hotlist entry", "hotlist entries", "This entry cannot be stored."),
}


def case_number_needed(*, agency: Agency, purpose: AuthorizedPurpose | None, activity: str) -> bool:
    """Whether the agency's case-number rule applies to this purpose and activity.

    Every plate search needs one when the agency requires case numbers. A review session
    needs one only for a purpose also used for searches: a review-only purpose (such as the
    quality review of computer reads) concerns the reader, not a case.
    """
    if not agency.require_case_number:
        return False
    if activity == "search":
        return True
    return purpose is not None and purpose.use != AuthorizedPurpose.Use.REVIEW


def _case_number_problem(*, case_number: str, noun: str, activity: str) -> str:
    scope = f"every {noun}" + (" with this purpose" if activity != "search" else "")
    typed = case_number.strip()
    if not typed:
        return f"Your agency requires a case or incident number for {scope}: enter it."
    return (
        f"“{typed}” is not a case or incident number: enter the number of the case or "
        f"incident this {noun} is for."
    )


def purpose_findings(
    *,
    agency: Agency,
    purpose: AuthorizedPurpose | None,
    purpose_text: str,
    case_number: str,
    activity: str = "search",
) -> list[tuple[str, str]]:
    """Why a stated purpose is refused: (form field, sentence for the user); empty: accepted.

    These are the purpose rules, the only reasons a request is refused (and the refusal
    logged and flagged); a mistyped plate or date is the form's business, not misconduct.
    """
    noun, plural, stops = ACTIVITIES[activity]
    problems: list[tuple[str, str]] = []
    if purpose is None:
        problems.append(("purpose", f"Choose the purpose of this {noun} from your agency's list."))
    needs_case = case_number_needed(agency=agency, purpose=purpose, activity=activity)
    if needs_case and (not case_number.strip() or is_vague(case_number)):
        problems.append(
            (
                "case_number",
                _case_number_problem(case_number=case_number, noun=noun, activity=activity),
            )
        )
    if purpose_text.strip() and is_vague(purpose_text):
        problems.append(
            (
                "purpose_text",
                f"“{purpose_text.strip()}” is too vague: say specifically what the {noun} is "
                "for (what happened, whom or what you are looking for).",
            )
        )
    elif purpose is not None and purpose.requires_detail and not purpose_text.strip():
        problems.append(
            (
                "purpose_text",
                f"The purpose “{purpose.name}” needs a description: say in words what the "
                f"{noun} is for.",
            )
        )
    for term in prohibited_terms_in(purpose_text, case_number, purpose.name if purpose else ""):
        reason = term.reason.strip().rstrip(".;:, ")
        why = f" ({reason})" if reason else ""
        problems.append(
            ("purpose_text", f"Your agency prohibits {plural} for “{term.term}”{why}. {stops}")
        )
    return problems


def purpose_problems(
    *,
    agency: Agency,
    purpose: AuthorizedPurpose | None,
    purpose_text: str,
    case_number: str,
    activity: str = "search",
) -> list[str]:
    """Why a stated purpose is refused, as sentences for the user (empty: accepted)."""
    return [
        message
        for _, message in purpose_findings(
            agency=agency,
            purpose=purpose,
            purpose_text=purpose_text,
            case_number=case_number,
            activity=activity,
        )
    ]


# --- the search -------------------------------------------------------


SORTS = {"time_desc": ("-captured_at", "-id"), "time_asc": ("captured_at", "id")}


def capture_search(
    *,
    agency: Agency,
    query: SearchQuery,
    as_of: datetime.datetime,
    sort: str = "time_desc",
) -> QuerySet[Capture]:
    """The reads matching ``query`` within the agency's retention, sorted by time.

    ``as_of`` is the moment the search was run: reads captured, received or read after it
    are left out, so a search shown again shows what it found then, not what came later.
    (The reading in force is today's: a read corrected since shows its corrected plate.)
    """
    qs = visible_captures(agency).exclude(plate="")
    qs = qs.filter(captured_at__lte=as_of, received_at__lte=as_of).filter(
        Q(read_at__isnull=True) | Q(read_at__lte=as_of)
    )
    pattern = parse_plate_pattern(query.plate)
    if pattern is not None:
        column = "match_key" if query.similar else "plate"
        qs = qs.filter(plate_filter(column, pattern, similar=query.similar))
    if query.state:
        qs = qs.filter(state=query.state)
    if query.start:
        qs = qs.filter(captured_at__gte=query.start)
    if query.end:
        qs = qs.filter(captured_at__lte=query.end)
    if query.camera_ids:
        qs = qs.filter(camera_id__in=list(query.camera_ids))
    if query.include_unconfirmed:
        qs = qs.exclude(review_status=Capture.Review.UNREADABLE)
    else:
        qs = qs.filter(review_status__in=[Capture.Review.CONFIRMED, Capture.Review.CORRECTED])
    return qs.select_related("camera").order_by(*SORTS.get(sort, SORTS["time_desc"]))


def camera_names(*, camera_ids: Sequence[int]) -> list[str]:
    """The names of the given cameras, sorted (a search's cameras, described in words)."""
    return list(
        Camera.objects.filter(pk__in=list(camera_ids))
        .order_by("name")
        .values_list("name", flat=True)
    )


def search_page(
    results: QuerySet[Capture], *, number: Any = 1, per_page: int = 50
) -> Page[Capture]:
    """One page of ``results`` with the total count; a first page that is not full needs no
    separate COUNT query (most plate searches find a handful of reads)."""
    paginator = Paginator(results, per_page)
    try:
        number = max(int(number or 1), 1)
    except (TypeError, ValueError):
        number = 1
    if number == 1:
        rows = list(results[: per_page + 1])
        if len(rows) <= per_page:
            paginator.__dict__["count"] = len(rows)  # the cached_property, filled in
            page = paginator.page(1)
            page.object_list = rows
            return page
    page = paginator.get_page(number)
    page.object_list = list(page.object_list)
    return page


def page_locations(page: Page[Capture]) -> list[dict[str, Any]] | None:
    """The map points of a result set that fits on its one page (``None``: ask the database)."""
    if page.paginator.num_pages > 1:
        return None
    points: dict[tuple[Any, Any, str], dict[str, Any]] = {}
    for capture in page.object_list:
        key = (capture.latitude, capture.longitude, capture.camera.name)
        point = points.setdefault(
            key,
            {
                "lat": float(capture.latitude),
                "lng": float(capture.longitude),
                "camera": capture.camera.name,
                "count": 0,
            },
        )
        point["count"] += 1
    return sorted(points.values(), key=lambda p: -p["count"])


def result_locations(results: QuerySet[Capture]) -> list[dict[str, Any]]:
    """Where the results were taken, one point per place with its count (for the map)."""
    rows = (
        results.order_by()
        .values("latitude", "longitude", "camera__name")
        .annotate(count=Count("id"))
        .order_by("-count")[:MAP_POINT_LIMIT]
    )
    return [
        {
            "lat": float(row["latitude"]),
            "lng": float(row["longitude"]),
            "camera": row["camera__name"],
            "count": row["count"],
        }
        for row in rows
    ]


@dataclass(frozen=True)
class SearchResults:
    """One page of a search's results, their count and where they were taken (for the map)."""

    page: Page[Capture]
    count: int
    map_points: list[dict[str, Any]]


def search_results(
    results: QuerySet[Capture], *, page_number: Any = 1, per_page: int = 50
) -> SearchResults:
    page = search_page(results, number=page_number, per_page=per_page)
    count = page.paginator.count
    points = page_locations(page)
    if not count:
        points = []
    elif points is None:
        points = result_locations(results)
    return SearchResults(page=page, count=count, map_points=points)


# --- linking views to the search that produced them ----------------------


def search_as_of(event: AccessEvent) -> datetime.datetime:
    """The moment a logged search was run (entries from before ``as_of`` was logged: their time)."""
    details = event.details if isinstance(event.details, dict) else {}
    with contextlib.suppress(KeyError, TypeError, ValueError):
        moment = datetime.datetime.fromisoformat(details["as_of"])
        if moment.tzinfo is not None:
            return min(moment, event.occurred_at)
    return event.occurred_at


def logged_query(event: AccessEvent) -> tuple[SearchQuery, datetime.datetime, bool]:
    """A logged search's query capped at the moment it was run, that moment, and whether
    the range as typed ended after it."""
    as_of = search_as_of(event)
    query, capped = SearchQuery.from_log(event.query).capped(at=as_of)
    details = event.details if isinstance(event.details, dict) else {}
    return query, as_of, capped or bool(details.get("end_capped"))


def search_event_for(
    *, user: AbstractBaseUser | AnonymousUser | None, event_id: Any
) -> AccessEvent | None:
    """The allowed search ``event_id`` of ``user`` (in the current schema), else ``None``.

    Capture and image views pass ``?search=<id>`` to link what was viewed to the search
    that found it; an id of someone else's search, or of a refused one, links nothing.
    """
    return own_allowed_entries(user=user, event_id=event_id, action=Action.SEARCH).first()


def related_search(request: HttpRequest) -> AccessEvent | None:
    """The search named by the request's ``?search=`` parameter, when it is the user's own."""
    return search_event_for(user=request.user, event_id=request.GET.get("search"))


def same_page_entry(
    *, user: AbstractBaseUser | AnonymousUser | None, event_id: Any, reads: list[dict[str, Any]]
) -> AccessEvent | None:
    """The user's own ``results_viewed`` entry ``event_id`` if it lists exactly ``reads``."""
    entry = (
        own_allowed_entries(user=user, event_id=event_id, action=Action.RESULTS_VIEWED)
        .filter(occurred_at__gte=page_entries_since())
        .first()
    )
    details = entry.details if entry is not None and isinstance(entry.details, dict) else {}
    return entry if details.get("reads") == reads else None


def page_entries_since() -> datetime.datetime:
    """How far back a page's entry still covers the images it lists: a sign-in's longest life
    (the page is open in a browser of that sign-in at most that long)."""
    return timezone.now() - datetime.timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS)
