"""The legal-hold pages: the list, a hold by case number, a hold's page (the only place its
captures past retention are shown, logged with the hold's case), renewing and lifting.

Who: Administrators with current training (the hold page shows plate data). Auditors (and
Administrators) see the register: every hold, its case, authority, reason, renewals and
lifting, without any plate (``hold_record``), since a hold is what keeps data past the
retention promise. Placing a hold on a search result starts from the search page
(``captures/search/holds.py``).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from captures.holds.forms import HoldForm, ReleaseForm, RenewForm
from captures.holds.models import LegalHold
from captures.holds.selectors import case_capture_ids, hold_captures, holds_listed
from captures.holds.services import (
    HoldRefused,
    Who,
    hold_image,
    hold_page_view,
    hold_place,
    hold_release,
    hold_renew,
)
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role, has_role

HOLD_ROLES = (Role.ADMINISTRATOR,)
REGISTER_ROLES = (Role.ADMINISTRATOR, Role.AUDITOR)
PAGE_SIZE = 100
LIST_PAGE = 100


@require_access(*REGISTER_ROLES)
@require_GET
@in_agency_time
def hold_list(request: AgencyRequest) -> HttpResponse:
    """The register of holds (no plates): Administrators open a hold's page, Auditors its
    record."""
    now = timezone.now()
    page = Paginator(holds_listed(), LIST_PAGE).get_page(request.GET.get("page"))
    manages = has_role(request.user, *HOLD_ROLES)
    holds = [(hold, hold.state(now=now)) for hold in page.object_list]
    return render(
        request,
        "holds/list.html",
        {"holds": holds, "page_obj": page, "manages": manages},
    )


@require_access(*REGISTER_ROLES)
@require_GET
@in_agency_time
def hold_record(request: AgencyRequest, hold_id: int) -> HttpResponse:
    """A hold as the register keeps it: who placed it, for what case and authority, until
    when, its renewals and its lifting; never its captures (no purpose is needed, none is
    shown)."""
    hold = get_object_or_404(LegalHold, pk=hold_id)
    return render(
        request,
        "holds/record.html",
        {
            "hold": hold,
            "state": hold.state(),
            "renewals": list(hold.renewals.all()),
            "manages": has_role(request.user, *HOLD_ROLES),
        },
    )


@require_access(*HOLD_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def hold_new(request: AgencyRequest) -> HttpResponse:
    """A hold on the captures the access log connects to a case number."""
    form = HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ids = case_capture_ids(case_number=data["case_number"].strip())
        if not ids:
            form.add_error(
                "case_number",
                "No capture was viewed, printed or reviewed under this case number. Run a "
                "search for the case and place the hold from its result instead.",
            )
        else:
            try:
                hold = hold_place(
                    agency=request.tenant,
                    who=Who(request=request),
                    capture_ids=ids,
                    case_number=data["case_number"],
                    authority=data["authority"],
                    reason=data["reason"],
                    ends_on=data["ends_on"],
                    source=LegalHold.Source.CASE,
                )
            except HoldRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, f"Hold {hold.pk} placed on {hold.capture_count} captures."
                )
                return redirect("holds:detail", hold_id=hold.pk)
    return render(request, "holds/new.html", {"form": form})


@require_access(*HOLD_ROLES, trained=True)
@require_GET
@in_agency_time
def hold_detail(request: AgencyRequest, hold_id: int) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    state = hold.state()
    page = None
    if state == "active":
        page = Paginator(hold_captures(hold), PAGE_SIZE).get_page(request.GET.get("page"))
        hold_page_view(request=request, hold=hold, captures=list(page.object_list))
    context = {
        "hold": hold,
        "state": state,
        "page_obj": page,
        "renewals": list(hold.renewals.all()),
        "renew_form": RenewForm(),
        "release_form": ReleaseForm(),
        "retention_days": request.tenant.retention_days,
    }
    return render(request, "holds/detail.html", context)


def _back_with_error(request: AgencyRequest, hold_id: int, problem: str) -> HttpResponse:
    messages.error(request, problem)
    return redirect(reverse("holds:detail", kwargs={"hold_id": hold_id}))


def _form_problem(form: RenewForm | ReleaseForm) -> str:
    parts = []
    for name, errors in form.errors.items():
        text = " ".join(str(error) for error in errors)
        label = form.fields[name].label if name in form.fields else ""
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


@require_access(*HOLD_ROLES, trained=True)
@require_POST
def hold_renew_view(request: AgencyRequest, hold_id: int) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    form = RenewForm(request.POST)
    if not form.is_valid():
        return _back_with_error(request, hold.pk, _form_problem(form))
    try:
        hold_renew(
            agency=request.tenant,
            who=Who(request=request),
            hold_id=hold.pk,
            ends_on=form.cleaned_data["ends_on"],
            reason=form.cleaned_data["reason"],
        )
    except HoldRefused as exc:
        return _back_with_error(request, hold.pk, str(exc))
    messages.success(request, f"Hold {hold.pk} renewed until {form.cleaned_data['ends_on']}.")
    return redirect("holds:detail", hold_id=hold.pk)


@require_access(*HOLD_ROLES, trained=True)
@require_POST
def hold_release_view(request: AgencyRequest, hold_id: int) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        return _back_with_error(request, hold.pk, _form_problem(form))
    try:
        hold_release(who=Who(request=request), hold_id=hold.pk, reason=form.cleaned_data["reason"])
    except HoldRefused as exc:
        return _back_with_error(request, hold.pk, str(exc))
    messages.success(
        request,
        f"Hold {hold.pk} lifted: its captures past retention are purged the next night.",
    )
    return redirect("holds:detail", hold_id=hold.pk)


@require_access(*HOLD_ROLES, trained=True)
@require_GET
def hold_image_view(
    request: AgencyRequest, hold_id: int, capture_id: uuid.UUID, kind: str
) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    image = hold_image(request=request, hold=hold, capture_id=capture_id, kind=kind)
    if image is None:
        raise Http404("No such image under this hold.")
    response = HttpResponse(image.data, content_type=image.content_type)
    patch_cache_control(response, no_store=True, no_cache=True, private=True, max_age=0)
    return response
