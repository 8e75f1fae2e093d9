"""Placing a legal hold on the result of a search the user ran (Administrators).

Search builds on holds (``captures/holds/``, rank 0, which the purge asks): the search shown
again as it was run offers its reads, and only those can be held from here.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.models import AccessEvent
from captures.holds.forms import HoldFromSearchForm
from captures.holds.models import LegalHold
from captures.holds.services import HoldRefused, Who, hold_place
from captures.models import Capture
from captures.search.query import PatternError
from captures.search.selectors import capture_search, logged_query, search_event_for
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role

MAX_OFFERED = 1000


def _search_reads(request: AgencyRequest, event: AccessEvent) -> tuple[list[Capture], int]:
    query, as_of, _ = logged_query(event)
    try:
        results = capture_search(agency=request.tenant, query=query, as_of=as_of)
        count = results.count()
        return list(results.select_related("camera")[:MAX_OFFERED]), count
    except PatternError:
        raise Http404("This search cannot be shown again; run it anew.") from None


def _place(
    request: AgencyRequest, form: HoldFromSearchForm, event: AccessEvent
) -> LegalHold | None:
    data = form.cleaned_data
    try:
        return hold_place(
            agency=request.tenant,
            who=Who(request=request),
            capture_ids=[uuid.UUID(value) for value in data["captures"]],
            case_number=data["case_number"],
            authority=data["authority"],
            reason=data["reason"],
            ends_on=data["ends_on"],
            source=LegalHold.Source.SEARCH,
            source_event_id=event.pk,
        )
    except HoldRefused as exc:
        form.add_error(None, str(exc))
        return None


@require_access(Role.ADMINISTRATOR, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def search_hold(request: AgencyRequest, search_id: int) -> HttpResponse:
    event = search_event_for(user=request.user, event_id=search_id)
    if event is None:
        raise Http404("No such search of yours.")
    reads, count = _search_reads(request, event)
    choices = [(str(c.pk), str(c.pk)) for c in reads]
    initial = {"case_number": event.case_number}
    form = HoldFromSearchForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        capture_choices=choices,
    )
    if request.method == "POST" and form.is_valid():
        hold = _place(request, form, event)
        if hold is not None:
            messages.success(request, f"Hold {hold.pk} placed on {hold.capture_count} captures.")
            return redirect("holds:detail", hold_id=hold.pk)
    chosen = set(form["captures"].value() or []) if form.is_bound else {str(c.pk) for c in reads}
    for capture in reads:
        capture.checked = str(capture.pk) in chosen  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "form": form,
        "search_event": event,
        "captures": reads,
        "result_count": count,
        "shown": len(reads),
        "truncated": count > len(reads),
    }
    return render(request, "holds/from_search.html", context)
