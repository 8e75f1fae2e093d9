"""Writes of plate search: running a search (allowed or refused) and the agency's search policy.

Each service writes its access-log entry itself, in the transaction of what it records.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessEvent, Action, Outcome
from audit.services import record_event
from captures.models import AuthorizedPurpose, Capture, ProhibitedTerm
from captures.search.query import SearchQuery
from captures.search.selectors import (
    SearchResults,
    capture_search,
    logged_query,
    purpose_findings,
    same_page_entry,
    search_results,
)
from tenants.models import Agency

# The access log's field sizes: what was typed is logged even when refused, cut to fit.
PURPOSE_TEXT_MAX = 1000
CASE_NUMBER_MAX = 100


@dataclass(frozen=True)
class SearchRun:
    """A search's outcome.

    Refused (the purpose rules): ``event`` is the logged refusal and ``problems`` say why, as
    (form field, sentence). Not run because the form has mistakes: no ``event`` (nothing is
    logged: a typo is not misconduct). Run: ``event`` is the logged search.
    """

    event: AccessEvent | None
    problems: list[tuple[str, str]]
    query: SearchQuery | None = None  # as run: its range ends no later than ``as_of``
    as_of: datetime.datetime | None = None
    end_capped: bool = False

    @property
    def refused(self) -> bool:
        return bool(self.problems)


def search_run(
    *,
    request: HttpRequest,
    agency: Agency,
    query: SearchQuery | None,
    typed_query: Mapping[str, Any],
    purpose: AuthorizedPurpose | None,
    purpose_text: str,
    case_number: str,
    as_of: datetime.datetime | None = None,
    entry_id: int | None = None,
    extra_details: Mapping[str, Any] | None = None,
) -> SearchRun:
    """Check the stated purpose, run the search and log it; or log its refusal.

    Only the purpose rules refuse (and log the refusal, with ``typed_query``: every element
    as typed). ``query`` is ``None`` when the form found mistakes: with an acceptable purpose
    nothing is run or logged, the form says what to fix. An allowed search runs as of now: a
    range ending later is cut to now, so shown again later it takes in nothing that arrived
    after it ran. Its result count is counted in the transaction that logs it.
    ``as_of``, ``entry_id`` and ``extra_details`` are for a search that also reads other
    agencies' shared data (``captures.sharing.services``): the moment it runs, the log id it
    reserved, and what it found there.
    """
    purpose_text = purpose_text.strip()[:PURPOSE_TEXT_MAX]
    case_number = case_number.strip()[:CASE_NUMBER_MAX]
    problems = purpose_findings(
        agency=agency, purpose=purpose, purpose_text=purpose_text, case_number=case_number
    )
    if problems:
        event = record_event(
            action=Action.SEARCH,
            request=request,
            outcome=Outcome.REFUSED,
            reason=" ".join(message for _, message in problems),
            purpose_category=purpose.name if purpose else "",
            purpose_text=purpose_text,
            case_number=case_number,
            query=typed_query,
        )
        return SearchRun(event=event, problems=problems)
    if query is None or purpose is None:
        return SearchRun(event=None, problems=[])

    as_of = as_of or timezone.now()
    query, end_capped = query.capped(at=as_of)
    with transaction.atomic():
        results = search_results(capture_search(agency=agency, query=query, as_of=as_of))
        event = record_event(
            action=Action.SEARCH,
            request=request,
            purpose_category=purpose.name,
            purpose_text=purpose_text,
            case_number=case_number,
            query=query.as_log(),
            details={
                "result_count": results.count,
                "as_of": as_of.isoformat(),
                "end_capped": end_capped,
                **(extra_details or {}),
            },
            entry_id=entry_id,
        )
    return SearchRun(event=event, problems=[], query=query, as_of=as_of, end_capped=end_capped)


IMAGE_FIELDS = {"plate": "plate_image", "vehicle": "vehicle_image"}


def read_shown(capture: Capture, kinds: Sequence[str] = ("plate", "vehicle")) -> dict[str, Any]:
    """How an entry lists a read a page showed: the plate as read then, and its images shown.

    The image view serves an image only when the entry of the page that showed it lists it
    (``details.reads[].images``): one entry per page, not one per image.
    """
    return {
        "capture": str(capture.pk),
        "plate": capture.plate,
        "state": capture.state,
        "images": [kind for kind in kinds if getattr(capture, IMAGE_FIELDS[kind], "")],
    }


def capture_view_log(
    *,
    request: HttpRequest,
    capture: Capture,
    source: str,
    purpose_event: AccessEvent | None = None,
    others: Sequence[Capture] = (),
    **details: Any,
) -> AccessEvent:
    """One ``capture_viewed`` entry, carrying the purpose of the search or review session that
    led to the read (``source``: search, review or direct), the plate read then, and every read
    and image the page shows (``details.reads``: the read's images, the other reads' plates).

    Shared by the capture page (viewing) and the review page (review), which both build on
    search; each calls it inside its own transaction.
    """
    reads = [read_shown(capture), *(read_shown(other, ("plate",)) for other in others)]
    return record_event(
        action=Action.CAPTURE_VIEWED,
        request=request,
        purpose_category=purpose_event.purpose_category if purpose_event else "",
        purpose_text=purpose_event.purpose_text if purpose_event else "",
        case_number=purpose_event.case_number if purpose_event else "",
        query=purpose_event.query if purpose_event else None,
        objects=[("capture", capture.pk), *(("capture", other.pk) for other in others)],
        related_event_id=purpose_event.pk if purpose_event else None,
        details={
            "plate": capture.plate,
            "state": capture.state,
            "source": source,
            "reads": reads,
            **details,
        },
    )


@dataclass(frozen=True)
class ResultsPage:
    """One page of a logged search's results, as it was run, and the entry that lists it."""

    results: SearchResults
    query: SearchQuery
    as_of: datetime.datetime
    end_capped: bool
    view: AccessEvent | None  # ``results_viewed``; None when the page shows no read


def results_page_show(
    *,
    request: HttpRequest,
    agency: Agency,
    search_event: AccessEvent,
    sort: str,
    page_number: Any,
    per_page: int,
    shown_before: Any = None,
) -> ResultsPage:
    """A page of a logged search's results and its ``results_viewed`` entry, in one transaction.

    The search is re-run as logged (``details.as_of``): the same reads as when it ran. The
    entry lists every read on the page with its plate and thumbnail (which the image view
    serves under it) and names the search as its reason. ``shown_before`` is the entry this
    sign-in session wrote for the same page: reloading a page that shows the same reads writes
    nothing new. Raises ``PatternError`` for an entry this form did not write.
    """
    query, as_of, end_capped = logged_query(search_event)
    with transaction.atomic():
        results = search_results(
            capture_search(agency=agency, query=query, as_of=as_of, sort=sort),
            page_number=page_number,
            per_page=per_page,
        )
        captures = list(results.page.object_list)
        reads = [read_shown(capture, ("plate",)) for capture in captures]
        view = None
        if reads:
            view = same_page_entry(user=request.user, event_id=shown_before, reads=reads)
        if reads and view is None:
            view = record_event(
                action=Action.RESULTS_VIEWED,
                request=request,
                purpose_category=search_event.purpose_category,
                purpose_text=search_event.purpose_text,
                case_number=search_event.case_number,
                query=search_event.query,
                objects=[("capture", capture.pk) for capture in captures],
                related_event_id=search_event.pk,
                details={"page": results.page.number, "sort": sort, "reads": reads},
            )
    return ResultsPage(results=results, query=query, as_of=as_of, end_capped=end_capped, view=view)


# --- the agency's search policy: authorized purposes and prohibited terms ------------------

SearchPolicyItem = AuthorizedPurpose | ProhibitedTerm


def _policy_log(*, request: HttpRequest, item: SearchPolicyItem, change: str) -> None:
    record_event(
        action=Action.SETTINGS_CHANGED,
        request=request,
        objects=[(item._meta.model_name or "", item.pk)],
        details={"setting": str(item._meta.verbose_name), "change": change, "value": str(item)},
    )


def search_policy_save(*, item: SearchPolicyItem, adding: bool, request: HttpRequest) -> None:
    """Add or change a purpose or prohibited term, and log it as ``settings_changed``."""
    with transaction.atomic():
        item.save()
        _policy_log(request=request, item=item, change="added" if adding else "changed")


def search_policy_delete(
    *,
    items: QuerySet[AuthorizedPurpose] | QuerySet[ProhibitedTerm],
    request: HttpRequest,
) -> None:
    """Delete purposes or prohibited terms; each one deleted is logged as ``settings_changed``."""
    with transaction.atomic():
        for item in items:
            _policy_log(request=request, item=item, change="deleted")
        items.delete()
