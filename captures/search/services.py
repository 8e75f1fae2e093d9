"""Writes of plate search: running a search (allowed or refused) and the agency's search policy.

Each service writes its access-log entry itself, in the transaction of what it records.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
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
from captures.search.selectors import capture_search, purpose_findings, search_results
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
) -> SearchRun:
    """Check the stated purpose, run the search and log it; or log its refusal.

    Only the purpose rules refuse (and log the refusal, with ``typed_query``: every element
    as typed). ``query`` is ``None`` when the form found mistakes: with an acceptable purpose
    nothing is run or logged, the form says what to fix. An allowed search runs as of now: a
    range ending later is cut to now, so shown again later it takes in nothing that arrived
    after it ran. Its result count is counted in the transaction that logs it.
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

    as_of = timezone.now()
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
            },
        )
    return SearchRun(event=event, problems=[], query=query, as_of=as_of, end_capped=end_capped)


def capture_view_log(
    *,
    request: HttpRequest,
    capture: Capture,
    source: str,
    purpose_event: AccessEvent | None = None,
    **details: Any,
) -> AccessEvent:
    """One ``capture_viewed`` entry, carrying the purpose of the search or review session that
    led to the read (``source``: search, review or direct).

    Shared by the capture page (viewing) and the review page (review), which both build on
    search; each calls it inside its own transaction.
    """
    return record_event(
        action=Action.CAPTURE_VIEWED,
        request=request,
        purpose_category=purpose_event.purpose_category if purpose_event else "",
        purpose_text=purpose_event.purpose_text if purpose_event else "",
        case_number=purpose_event.case_number if purpose_event else "",
        query=purpose_event.query if purpose_event else None,
        objects=[("capture", capture.pk)],
        related_event_id=purpose_event.pk if purpose_event else None,
        details={"plate": capture.plate, "state": capture.state, "source": source, **details},
    )


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
