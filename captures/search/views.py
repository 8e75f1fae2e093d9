"""The plate search page: the form (POST runs a search, then redirects to it) and a logged
search shown again (``?search=<id>``).

Who: Officers and Administrators with current training. Auditors read the access log
instead and cannot search. Every search, allowed or refused by the purpose rules, is logged by
``search_run``; a form with mistakes runs nothing and logs nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from captures.search.forms import SearchForm, initial_from_search
from captures.search.query import PatternError
from captures.search.selectors import (
    SORTS,
    SearchResults,
    capture_search,
    logged_query,
    related_search,
    search_results,
)
from captures.search.services import search_run
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
    }
    return render(request, "captures/search.html", context)


def _search_submitted(request: AgencyRequest, *, sort: str) -> HttpResponse:
    """Run the search and send the browser to its results (``?search=<id>``): reloading or
    going back shows the logged search again, never runs or logs it twice. A refusal (the
    purpose rules) and mistakes in the form are shown on the form, beside their fields."""
    form = SearchForm(request.POST, agency=request.tenant)
    valid = form.is_valid()
    run = search_run(
        request=request,
        agency=request.tenant,
        query=form.query() if valid else None,
        typed_query=form.typed_query(),
        purpose=form.cleaned_data.get("purpose"),
        purpose_text=form.typed("purpose_text"),
        case_number=form.typed("case_number"),
    )
    if run.event is not None and not run.refused:
        suffix = f"&sort={sort}" if sort != "time_desc" else ""
        return redirect(f"{reverse('captures:search')}?search={run.event.pk}{suffix}")
    for name, problem in run.problems:
        form.add_error(name if name in form.fields else None, problem)
    context = {"form": form, "refused": run.refused, "problems": [p for _, p in run.problems]}
    return render(request, "captures/search.html", context)
