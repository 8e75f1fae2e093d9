"""The plate search page: the form (POST runs a search, then redirects to it) and a logged
search shown again (``?search=<id>``).

Who: Officers and Administrators with current training. Auditors read the access log
instead and cannot search. Every search, allowed or refused by the purpose rules, is logged by
``search_run``; a form with mistakes runs nothing and logs nothing.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from captures.search.forms import SearchForm, initial_from_search
from captures.search.query import PatternError, SearchQuery
from captures.search.selectors import (
    SORTS,
    SearchResults,
    camera_names,
    logged_query,
    related_search,
    search_event_for,
)
from captures.search.services import results_page_show
from captures.sharing.forms import chosen_grants
from captures.sharing.selectors import shared_results_again
from captures.sharing.services import search_run_shared
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role

PAGE_SIZE = 50
SEARCH_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)


def map_config() -> dict[str, Any]:
    """What the results map draws under its points: tiles from the configured tile server,
    else the vendored basemap of the demo area (offline installs, the demo, the tests)."""
    return {
        "tiles": settings.ALPR_MAP_TILE_URL,
        "attribution": settings.ALPR_MAP_TILE_ATTRIBUTION,
        "basemap": static(settings.ALPR_MAP_BASEMAP),
        "basemap_bounds": settings.ALPR_MAP_BASEMAP_BOUNDS,
    }


def _results_context(results: SearchResults) -> dict[str, Any]:
    return {
        "page_obj": results.page,
        "result_count": results.count,
        "map_points": results.map_points,
        "map_config": map_config(),
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
    if "again" in request.GET:
        return _search_changed(request)
    return render(request, "captures/search.html", {"form": SearchForm(agency=request.tenant)})


# The next steps an empty result offers: each fills the form in with the search changed.
CHANGES = {
    "dates": "The dates now cover every read still kept.",
    "similar": "Similar plates are now included.",
    "unconfirmed": "Unconfirmed reads are now included.",
}


def _search_changed(request: AgencyRequest) -> HttpResponse:
    """The form filled in from a logged search of the user's own, with one change applied
    (``?again=<id>&change=dates|similar|unconfirmed``): nothing runs until it is submitted."""
    event = search_event_for(user=request.user, event_id=request.GET.get("again"))
    change = request.GET.get("change", "")
    if event is None or change not in CHANGES:
        raise Http404("No such search of yours.")
    query, _, _ = logged_query(event)
    initial = initial_from_search(event, query)
    if change == "dates":
        now = timezone.localtime().replace(second=0, microsecond=0)
        initial["start"] = _retention_start(request)
        initial["end"] = now
    else:
        initial["similar" if change == "similar" else "include_unconfirmed"] = True
    form = SearchForm(agency=request.tenant, initial=initial)
    return render(request, "captures/search.html", {"form": form, "changed": CHANGES[change]})


def _retention_start(request: AgencyRequest) -> datetime.datetime:
    """The oldest moment a read can still be kept (to the minute, rounded up)."""
    start = timezone.localtime() - datetime.timedelta(days=request.tenant.retention_days)
    return start.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)


def _next_steps(request: AgencyRequest, query: SearchQuery) -> list[tuple[str, str]]:
    """What an empty result offers to try next: (change, link text)."""
    steps = []
    oldest = _retention_start(request)
    if query.start is None or query.start > oldest + datetime.timedelta(minutes=1):
        days = request.tenant.retention_days
        steps.append(("dates", f"Widen the dates to the last {days} day{'s' * (days != 1)}"))
    if query.plate and not query.similar:
        steps.append(("similar", "Include similar plates (O/0, I/1, B/8…)"))
    if not query.include_unconfirmed:
        steps.append(("unconfirmed", "Include unconfirmed reads"))
    return steps


def _searched(query: SearchQuery) -> str:
    """What a search looked for, in words (times in the agency's zone, which is active)."""
    parts = []
    if query.plate:
        parts.append(f"plate {query.plate}" + (" or similar plates" if query.similar else ""))
    else:
        parts.append("any plate")
    if query.state:
        parts.append(f"from {query.state}")
    if query.camera_ids:
        parts.append("at " + ", ".join(camera_names(camera_ids=query.camera_ids)))
    if query.start and query.end:
        start, end = timezone.localtime(query.start), timezone.localtime(query.end)
        parts.append(f"captured from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M %Z}")
    if not query.include_unconfirmed:
        parts.append("confirmed reads only")
    return ", ".join(parts)


RESULTS_PAGES_KEY = "alpr_results_pages"  # this sign-in's results_viewed entry per page shown
RESULTS_PAGES_KEPT = 20


def _search_again(request: AgencyRequest, *, sort: str) -> HttpResponse:
    """A logged search of the user's own, shown as it was run: nothing captured, received or
    read after that moment. Paging and sorting run no new search; each page shown is one
    ``results_viewed`` entry (its reads and thumbnails), reused when the same page is shown
    again in this sign-in."""
    event = related_search(request)
    if event is None:
        raise Http404("No such search of yours.")
    pages: dict[str, int] = dict(request.session.get(RESULTS_PAGES_KEY) or {})
    key = f"{event.pk}:{request.GET.get('page') or 1}:{sort}"
    try:
        shown = results_page_show(
            request=request,
            agency=request.tenant,
            search_event=event,
            sort=sort,
            page_number=request.GET.get("page"),
            per_page=PAGE_SIZE,
            shown_before=pages.get(key),
        )
    except PatternError:  # an entry not written by this form cannot be re-run
        raise Http404("This search cannot be shown again; run it anew.") from None
    if shown.view is not None and pages.get(key) != shown.view.pk:
        pages[key] = shown.view.pk
        request.session[RESULTS_PAGES_KEY] = dict(list(pages.items())[-RESULTS_PAGES_KEPT:])
    query = shown.query
    context = {
        **_results_context(shown.results),
        "form": SearchForm(agency=request.tenant, initial=initial_from_search(event, query)),
        "search_event": event,
        "search_id": event.pk,
        "view_id": shown.view.pk if shown.view else None,
        "sort": sort,
        "page_query": urlencode({"search": event.pk, "sort": sort}) + "&",  # kept on page links
        "as_of": shown.as_of,
        "end_capped": shown.end_capped,
        "shared": shared_results_again(
            recipient=request.tenant, event=event, query=query, as_of=shown.as_of
        ),
    }
    if not shown.results.count:
        context["searched"] = _searched(query)
        context["next_steps"] = _next_steps(request, query)
    return render(request, "captures/search.html", context)


def _search_submitted(request: AgencyRequest, *, sort: str) -> HttpResponse:
    """Run the search and send the browser to its results (``?search=<id>``): reloading or
    going back shows the logged search again, never runs or logs it twice. A refusal (the
    purpose rules) and mistakes in the form are shown on the form, beside their fields."""
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
    )
    run = shared_run.run
    if run.event is not None and not run.refused:
        suffix = f"&sort={sort}" if sort != "time_desc" else ""
        return redirect(f"{reverse('captures:search')}?search={run.event.pk}{suffix}")
    for name, problem in run.problems:
        form.add_error(name if name in form.fields else None, problem)
    context = {"form": form, "refused": run.refused, "problems": [p for _, p in run.problems]}
    return render(request, "captures/search.html", context)
