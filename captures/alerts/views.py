"""Hotlist pages: alerts (list, poll, detail, images, the two steps), entries typed in, and the
auditors' figures.

Who: alerts and entries, Officers and Administrators with current training; figures, Auditors
and Administrators. The views validate a form, call a service (which logs) and render.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseGone, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from captures.alerts import selectors
from captures.alerts.entries import EntryRefused, entry_add, entry_change, entry_remove
from captures.alerts.forms import ActForm, DecideForm, EntryChangeForm, EntryForm, EntryRemoveForm
from captures.alerts.services import (
    AlertImageUnavailable,
    AlertRefused,
    alert_act,
    alert_decide,
    alert_image,
    alert_view,
)
from captures.hotlists.models import Hit, HotlistEntry
from captures.search.forms import error_sentences
from captures.search.views import map_config
from captures.storage import image_files
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role, has_role

ALERT_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)
REPORT_ROLES = (Role.AUDITOR, Role.ADMINISTRATOR)


@require_access(*ALERT_ROLES, trained=True)
@require_GET
@in_agency_time
def alert_list(request: AgencyRequest) -> HttpResponse:
    """Open alerts (live) above the decided ones, paged and filtered by what was decided."""
    statuses = [(value, label) for value, label in Hit.Status.choices if value != Hit.Status.NEW]
    status = request.GET.get("status", "")
    if status not in {value for value, _ in statuses}:
        status = ""
    history = Paginator(
        selectors.decided_alerts(request.tenant, status).values(*selectors.ROW_FIELDS),
        selectors.HISTORY_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "alerts/list.html",
        {
            "payload": selectors.poll_payload(request.tenant),
            "history": history,
            "history_rows": selectors.alert_rows(list(history.object_list)),
            "statuses": statuses,
            "status": status,
        },
    )


@require_access(*ALERT_ROLES, trained=True)
@require_GET
def alert_poll(request: AgencyRequest) -> JsonResponse:
    """The banner's and the alert page's short poll: counts and rows, never a plate."""
    response = JsonResponse(selectors.poll_payload(request.tenant))
    patch_cache_control(response, no_store=True)
    return response


def _hit(request: AgencyRequest, hit_id: int) -> Hit:
    return get_object_or_404(
        selectors.alert_queue(request.tenant).select_related("capture", "capture__camera"),
        pk=hit_id,
    )


@require_access(*ALERT_ROLES, trained=True)
@require_GET
@in_agency_time
def alert_detail(request: AgencyRequest, hit_id: int) -> HttpResponse:
    hit = _hit(request, hit_id)
    alert_view(request=request, hit=hit)
    capture = hit.capture
    points = (
        [
            {
                "lat": float(capture.latitude),
                "lng": float(capture.longitude),
                "count": 1,
                "camera": hit.camera_name,
            }
        ]
        if capture is not None
        else []
    )
    return render(
        request,
        "alerts/detail.html",
        {
            "hit": hit,
            "capture": capture,
            "map_points": points,
            "map_config": map_config(),  # the search's map: tiles or the vendored basemap
            "decide_form": DecideForm(initial={"state": hit.read_state}),
            "act_form": ActForm(initial={"case_number": hit.entry_case_number}),
            # A read below the review threshold (calibrated confidence) is a doubtful one.
            "doubtful_read": hit.read_confidence is not None
            and hit.read_confidence < settings.ALPR_REVIEW_THRESHOLD,
            "review_threshold": settings.ALPR_REVIEW_THRESHOLD,
        },
    )


@require_access(*ALERT_ROLES, trained=True)
@require_GET
def alert_image_view(request: AgencyRequest, hit_id: int, kind: str) -> HttpResponse:
    try:
        image = alert_image(request=request, agency=request.tenant, hit_id=hit_id, kind=kind)
    except AlertImageUnavailable as exc:
        raise Http404(str(exc)) from None
    except image_files.DayKeyDestroyed:
        return HttpResponseGone("This image was destroyed with its day's key.")
    response = HttpResponse(image.data, content_type=image.content_type)
    patch_cache_control(response, no_store=True, private=True, max_age=0)
    return response


def _alert_step(
    request: AgencyRequest,
    hit_id: int,
    form_class: type[forms.Form],
    step: Callable[..., Hit],
    done: str,
) -> HttpResponse:
    """One recorded step on an alert (a decision, an outcome): the form's fields go to the
    service, which checks and logs; errors and refusals come back as messages on the alert."""
    hit = _hit(request, hit_id)
    form = form_class(request.POST)
    back = reverse("captures:alert", kwargs={"hit_id": hit.pk})
    if not form.is_valid():
        messages.error(request, " ".join(error_sentences(form)))
        return redirect(back)
    try:
        step(request=request, agency=request.tenant, hit_id=hit.pk, **form.cleaned_data)
    except AlertRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect(back)


@require_access(*ALERT_ROLES, trained=True)
@require_POST
def alert_decide_view(request: AgencyRequest, hit_id: int) -> HttpResponse:
    return _alert_step(request, hit_id, DecideForm, alert_decide, "Recorded.")


@require_access(*ALERT_ROLES, trained=True)
@require_POST
def alert_act_view(request: AgencyRequest, hit_id: int) -> HttpResponse:
    return _alert_step(request, hit_id, ActForm, alert_act, "Outcome recorded.")


# --- entries typed in -------------------------------------------------------------------


@require_access(*ALERT_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def hotlists_page(request: AgencyRequest) -> HttpResponse:
    """The agency's lists and entries (plates shown to whoever typed them in), and the form."""
    form = EntryForm(request.POST or None, agency=request.tenant)
    if request.method == "POST":
        valid = form.is_valid()
        hotlist = form.cleaned_data.get("hotlist")
        if hotlist is None:
            messages.error(request, " ".join(error_sentences(form)) or "Choose a list.")
        else:
            try:
                entry_add(
                    agency=request.tenant,
                    request=request,
                    hotlist=hotlist,
                    data=form.entry_data(),
                    purpose=form.cleaned_data.get("purpose"),
                    purpose_text=form.typed("purpose_text"),
                    case_number=form.typed("case_number"),
                    form_problems=[] if valid else error_sentences(form),
                )
            except EntryRefused as exc:
                for problem in exc.problems:
                    messages.error(request, problem)
            else:
                messages.success(request, "Entry added: reads are matched against it from now.")
                return redirect(reverse("captures:hotlists"))
    entries = selectors.typed_entries().filter(expires_at__gt=timezone.now())
    return render(
        request,
        "alerts/hotlists.html",
        {
            "form": form,
            "entries": entries.order_by("-entered_at")[:500],
            "lists": selectors.agency_lists(),
        },
    )


def _own_entry(request: AgencyRequest, entry_id: int) -> HotlistEntry:
    entry = get_object_or_404(selectors.typed_entries(), pk=entry_id)
    if entry.entered_by_id != request.user.pk and not has_role(request.user, Role.ADMINISTRATOR):
        raise Http404("No such entry of yours.")
    return entry


@require_access(*ALERT_ROLES, trained=True)
@require_POST
def entry_change_view(request: AgencyRequest, entry_id: int) -> HttpResponse:
    entry = _own_entry(request, entry_id)
    form = EntryChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(error_sentences(form)))
    else:
        try:
            entry_change(
                request=request,
                entry=entry,
                reference=form.cleaned_data["reference"],
                notes=form.cleaned_data["notes"],
                days=form.cleaned_data["days"],
            )
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Entry changed.")
    return redirect(reverse("captures:hotlists"))


@require_access(*ALERT_ROLES, trained=True)
@require_POST
def entry_remove_view(request: AgencyRequest, entry_id: int) -> HttpResponse:
    entry = _own_entry(request, entry_id)
    form = EntryRemoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(error_sentences(form)))
    else:
        try:
            entry_remove(request=request, entry=entry, why=form.cleaned_data["why"])
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Entry removed: it no longer matches.")
    return redirect(reverse("captures:hotlists"))


# --- figures for auditors ------------------------------------------------------------------


@require_access(*REPORT_ROLES)
@require_GET
@in_agency_time
def hotlist_report(request: AgencyRequest) -> HttpResponse:
    agency = request.tenant
    reads = selectors.reads_per_month(agency)
    return render(
        request,
        "alerts/report.html",
        {
            "rows": selectors.hit_figures(agency),
            "reads": sorted(reads.items(), reverse=True),
            "by_user": selectors.entries_by_user(),
            "without_case": selectors.entries_without_case()[:200],
            "flags": selectors.entry_flags(),
        },
    )
