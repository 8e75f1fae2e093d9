"""Pages of sharing: a granting agency's read seen by our officer (the page and its images),
and the Administrators' page of grants (offer, accept, renew, revoke).

A read of another agency is reached only through a search of the officer's own that included
that agency, under a grant in force now; anything else is a 404. Every page is logged by the
services, in both agencies' logs.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseGone
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from captures.models import Camera
from captures.search.selectors import related_search
from captures.sharing.forms import OfferForm, RenewForm, RevokeForm, default_end
from captures.sharing.selectors import granting_agency
from captures.sharing.services import (
    ImageUnavailable,
    SharedUnavailable,
    grant_offer_checked,
    shared_capture_view,
    shared_image_serve,
)
from captures.storage import image_files
from tenants.http import AgencyRequest, SignedInRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role
from tenants.sharing.laws import profile_of
from tenants.sharing.models import Grant
from tenants.sharing.selectors import grants_of
from tenants.sharing.services import (
    GrantNotFound,
    SharingError,
    agency_today,
    grant_accept,
    grant_renew,
    grant_revoke,
)

VIEWING_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)


def _grant_from(request: AgencyRequest, slug: str) -> Grant:
    grant = granting_agency(recipient=request.tenant, slug=slug)
    if grant is None:
        raise Http404("No agency shares its data with yours under that name.")
    return grant


@require_access(*VIEWING_ROLES, trained=True)
@require_GET
@in_agency_time
def shared_capture(request: AgencyRequest, agency: str, capture_id: uuid.UUID) -> HttpResponse:
    grant = _grant_from(request, agency)
    try:
        view = shared_capture_view(
            request=request,
            grant=grant,
            capture_id=capture_id,
            search_event=related_search(request),
        )
    except SharedUnavailable as exc:
        raise Http404(str(exc)) from None
    return render(
        request,
        "captures/sharing/capture.html",
        {"grant": view.grant, "capture": view.capture, "search_id": view.search_event.pk},
    )


@require_access(*VIEWING_ROLES, trained=True)
@require_GET
def shared_image(
    request: SignedInRequest, agency: str, capture_id: uuid.UUID, kind: str
) -> HttpResponse:
    grant = _grant_from(request, agency)
    try:
        image = shared_image_serve(
            request=request,
            grant=grant,
            capture_id=capture_id,
            kind=kind,
            search_event=related_search(request),
        )
    except (SharedUnavailable, ImageUnavailable) as exc:
        raise Http404(str(exc)) from None
    except image_files.DayKeyDestroyed:
        gone = HttpResponseGone(
            "This image was destroyed with its day's key by its agency's retention purge.",
            content_type="text/plain; charset=utf-8",
        )
        patch_cache_control(gone, no_store=True)
        return gone
    response = HttpResponse(image.data, content_type=image.content_type)
    patch_cache_control(response, no_store=True, no_cache=True, private=True, max_age=0)
    response["Content-Disposition"] = f'inline; filename="{image.filename}"'
    return response


# --- the Administrators' page of grants ---------------------------------------------------


def _cameras() -> list[tuple[int, str]]:
    return list(Camera.objects.order_by("name").values_list("pk", "name"))


def _page(
    request: AgencyRequest, offer: OfferForm | None = None, status: int = 200
) -> HttpResponse:
    agency = request.tenant
    today = agency_today(agency)
    grants = list(grants_of(agency=agency))
    context: dict[str, Any] = {
        "profile": profile_of(agency),
        "offered": [g for g in grants if g.owner_id == agency.pk],
        "received": [g for g in grants if g.recipient_id == agency.pk],
        "offer_form": offer
        or OfferForm(owner=agency, cameras=_cameras(), initial={"ends_on": default_end(today)}),
        "renew_form": RenewForm(),
        "revoke_form": RevokeForm(),
        "today": today,
    }
    return render(request, "captures/sharing/grants.html", context, status=status)


@require_access(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
@in_agency_time
def grants(request: AgencyRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = OfferForm(request.POST, owner=request.tenant, cameras=_cameras())
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    try:
        grant = grant_offer_checked(
            owner=request.tenant,
            recipient=data["recipient"],
            ends_on=data["ends_on"],
            cameras=data.get("cameras") or None,
            days_back=data.get("days_back"),
            actor=request.user,
            request=request,
        )
    except SharingError as exc:
        form.add_error(None, str(exc))
        return _page(request, form, status=400)
    messages.success(request, f"Grant #{grant.pk} offered to {grant.recipient.name}.")
    return redirect("captures:sharing")


def _step(request: SignedInRequest, grant_id: int, step: str) -> HttpResponse:
    agency = request.tenant
    try:
        if step == "accept":
            grant = grant_accept(
                agency=agency, grant_id=grant_id, actor=request.user, request=request
            )
        elif step == "renew":
            form = RenewForm(request.POST)
            if not form.is_valid():
                raise SharingError("Give the new last day as a date.")
            grant = grant_renew(
                agency=agency,
                grant_id=grant_id,
                ends_on=form.cleaned_data["ends_on"],
                actor=request.user,
                request=request,
            )
        else:
            revoke = RevokeForm(request.POST)
            reason = revoke.cleaned_data["reason"] if revoke.is_valid() else ""
            grant = grant_revoke(
                agency=agency, grant_id=grant_id, reason=reason, actor=request.user, request=request
            )
    except GrantNotFound:
        raise Http404("No such grant of your agency.") from None
    except SharingError as exc:
        messages.error(request, str(exc))
        return redirect("captures:sharing")
    messages.success(request, f"Grant #{grant.pk}: {step} done.")
    return redirect("captures:sharing")


@require_access(Role.ADMINISTRATOR)
@require_POST
def grant_accept_view(request: SignedInRequest, grant_id: int) -> HttpResponse:
    return _step(request, grant_id, "accept")


@require_access(Role.ADMINISTRATOR)
@require_POST
def grant_renew_view(request: SignedInRequest, grant_id: int) -> HttpResponse:
    return _step(request, grant_id, "renew")


@require_access(Role.ADMINISTRATOR)
@require_POST
def grant_revoke_view(request: SignedInRequest, grant_id: int) -> HttpResponse:
    return _step(request, grant_id, "revoke")
