"""The plate search page: the form (POST runs a search) and a logged search shown again.

Who: Officers and Administrators with current training. Auditors read the access log
instead and cannot search. Every search, allowed or refused, is logged by ``search_run``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from captures.search.forms import SearchForm, error_sentences, initial_from_search
from captures.search.query import PatternError
from captures.search.selectors import (
    SORTS,
    SearchResults,
    capture_search,
    logged_query,
    related_search,
    search_results,
)
from captures.sharing.forms import chosen_grants
from captures.sharing.selectors import shared_results_again
from captures.sharing.services import search_run_shared
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role

PAGE_SIZE = 50
SEARCH_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)


def _results_context(results: SearchResults) -> dict[str, Any]:
    return {
        "page_obj": results.page,
        "result_count": results.count,
        "map_points": results.map_points,
    }


@require_access(*SEARCH_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def search(request: AgencyRequest) -> HttpResponse:
    sort = request.GET.get("sort", "time_desc")
    sort = sort if sort in SORTS else "time_desc"
    if request.method == "POST":
        return _search_submitted(request, sort=sort)
    if "search" in request.GET:
        return _search_again(request, sort=sort)
    return render(request, "captures/search.html", {"form": SearchForm(agency=request.tenant)})


def _search_again(request: AgencyRequest, *, sort: str) -> HttpResponse:
    """A logged search of the user's own, shown as it was run: nothing captured, received or
    read after that moment. Paging and sorting it log nothing new."""
    event = related_search(request)
    if event is None:
        raise Http404("No such search of yours.")
    query, as_of, end_capped = logged_query(event)
    try:
        results = search_results(
            capture_search(agency=request.tenant, query=query, as_of=as_of, sort=sort),
            page_number=request.GET.get("page"),
            per_page=PAGE_SIZE,
        )
    except PatternError:  # an entry not written by this form cannot be re-run
        raise Http404("This search cannot be shown again; run it anew.") from None
    context = {
        **_results_context(results),
        "form": SearchForm(agency=request.tenant, initial=initial_from_search(event, query)),
        "search_event": event,
        "search_id": event.pk,
        "sort": sort,
        "as_of": as_of,
        "end_capped": end_capped,
        "shared": shared_results_again(
            recipient=request.tenant, event=event, query=query, as_of=as_of
        ),
    }
    return render(request, "captures/search.html", context)


def _search_submitted(request: AgencyRequest, *, sort: str) -> HttpResponse:
    form = SearchForm(request.POST, agency=request.tenant)
    valid = form.is_valid()
    shared_run = search_run_shared(
        request=request,
        agency=request.tenant,
        grants=chosen_grants(recipient=request.tenant, owners=form.cleaned_data.get("agencies")),
        query=form.query() if valid else None,
        typed_query=form.typed_query(),
        purpose=form.cleaned_data.get("purpose"),
        purpose_text=form.typed("purpose_text"),
        case_number=form.typed("case_number"),
        form_problems=[] if valid else error_sentences(form),
        sort=sort,
        per_page=PAGE_SIZE,
    )
    run = shared_run.run
    if run.results is None or run.query is None:
        for problem in run.problems:
            form.add_error(None, problem)
        return render(request, "captures/search.html", {"form": form, "refused": True})
    if run.end_capped:  # the form shows the range as it was searched
        form = SearchForm(agency=request.tenant, initial=initial_from_search(run.event, run.query))
    context = {
        **_results_context(run.results),
        "form": form,
        "search_id": run.event.pk,
        "search_event": run.event,
        "sort": sort,
        "as_of": run.as_of,
        "end_capped": run.end_capped,
        "shared": shared_run.shared,
    }
    return render(request, "captures/search.html", context)
