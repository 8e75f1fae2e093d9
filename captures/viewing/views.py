"""The capture page, printing a read for a case, and the one way an image leaves storage.

Who: Officers and Administrators with current training. Every page here writes the access
log (through the services), with the search or review session that led to it.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseForbidden, HttpResponseGone
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from captures.models import Capture
from captures.releases.selectors import print_disclosure
from captures.retention.selectors import visible_captures
from captures.review.services import CONFIRM_BEFORE_ACTING
from captures.search.selectors import related_search
from captures.storage import image_files
from captures.viewing.forms import PrintForm
from captures.viewing.services import (
    ImageRefused,
    ImageUnavailable,
    PrintRefused,
    capture_print,
    capture_view,
    image_serve,
)
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role

VIEWING_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)
IMAGE_DESTROYED = (
    "This image was destroyed with its day's encryption key (retention purge) and can no "
    "longer be shown."
)


def _visible_capture(request: AgencyRequest, capture_id: uuid.UUID) -> Capture:
    """The capture if it is this agency's and within retention; 404 otherwise."""
    return get_object_or_404(
        visible_captures(request.tenant).select_related("camera"), pk=capture_id
    )


@require_access(*VIEWING_ROLES, trained=True)
@require_http_methods(["GET"])
@in_agency_time
def capture_detail(request: AgencyRequest, capture_id: uuid.UUID) -> HttpResponse:
    page = capture_view(
        request=request,
        agency=request.tenant,
        capture=_visible_capture(request, capture_id),
        search_event=related_search(request),
    )
    return render(
        request,
        "captures/capture.html",
        {
            "capture": page.capture,
            "reviews": page.reviews,
            "others": page.others,
            "search_id": page.search_event.pk if page.search_event else None,
            "view_id": page.view.pk,
        },
    )


def _print_disclosed(request: AgencyRequest, capture: Capture, back: str) -> HttpResponse:
    """A printout for the recipient of an approved print disclosure (``?disclosure=<id>``)."""
    disclosure = print_disclosure(
        user=request.user, disclosure_id=request.GET.get("disclosure"), capture_id=capture.pk
    )
    if disclosure is None:
        raise Http404("No approved printout disclosure of this read of yours.")
    try:
        event = capture_print(
            request=request,
            capture=capture,
            search_event=None,
            case_number=disclosure.case_number,
            disclosure=disclosure,
        )
    except PrintRefused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    context = {
        "capture": capture,
        "case_number": disclosure.case_number,
        "search_id": None,
        "printed_at": event.occurred_at,
        "disclosure": disclosure,
    }
    return render(request, "captures/print.html", context)


def _print_leaves_agency(capture: Capture) -> str:
    return reverse("releases:prepare") + f"?capture={capture.pk}&medium=print"


@require_access(*VIEWING_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def capture_print_page(request: AgencyRequest, capture_id: uuid.UUID) -> HttpResponse:
    """Printing a confirmed read. Inside the agency: for a case, logged. Leaving the agency:
    a disclosure first (prepared, approved by a different Administrator), then printed from
    its page (``?disclosure=<id>``)."""
    capture = _visible_capture(request, capture_id)
    search_event = related_search(request)
    back = reverse("captures:capture", kwargs={"capture_id": capture.pk})
    if search_event:
        back += f"?search={search_event.pk}"
    if not capture.is_confirmed:
        messages.error(request, CONFIRM_BEFORE_ACTING)
        return redirect(back)
    if request.method == "GET" and request.GET.get("disclosure"):
        return _print_disclosed(request, capture, back)
    if request.method != "POST":
        form = PrintForm(initial={"case_number": search_event.case_number if search_event else ""})
    else:
        form = PrintForm(request.POST)
        if form.is_valid() and form.cleaned_data["destination"] == "outside":
            messages.info(
                request,
                "A printout that leaves the agency is a disclosure: record the recipient and "
                "the legal basis here; once a different Administrator approves it, print it "
                "from the disclosure's page.",
            )
            return redirect(_print_leaves_agency(capture))
        if form.is_valid():
            case_number = form.cleaned_data["case_number"]
            try:
                event = capture_print(
                    request=request,
                    capture=capture,
                    search_event=search_event,
                    case_number=case_number,
                )
            except PrintRefused as exc:  # re-reviewed as unreadable since the check above
                messages.error(request, str(exc))
                return redirect(back)
            context = {
                "capture": capture,
                "case_number": case_number,
                "search_id": search_event.pk if search_event else None,
                "view_id": event.pk,
                "printed_at": event.occurred_at,
            }
            return render(request, "captures/print.html", context)
    return render(
        request, "captures/print_form.html", {"capture": capture, "form": form, "back": back}
    )


@require_GET
@require_access(*VIEWING_ROLES, trained=True)
def capture_image(request: AgencyRequest, capture_id: uuid.UUID, kind: str) -> HttpResponse:
    """``?view=<access-log id>``: the entry of the page that shows the image (it lists it);
    without one the image is refused."""
    try:
        image = image_serve(
            request=request,
            agency=request.tenant,
            capture_id=capture_id,
            kind=kind,
            view_id=request.GET.get("view"),
        )
    except ImageRefused as exc:
        refused = HttpResponseForbidden(str(exc), content_type="text/plain; charset=utf-8")
        patch_cache_control(refused, no_store=True)
        return refused
    except ImageUnavailable as exc:
        raise Http404(str(exc)) from None
    except image_files.DayKeyDestroyed:
        gone = HttpResponseGone(IMAGE_DESTROYED, content_type="text/plain; charset=utf-8")
        patch_cache_control(gone, no_store=True)
        return gone
    response = HttpResponse(image.data, content_type=image.content_type)
    patch_cache_control(response, no_store=True, no_cache=True, private=True, max_age=0)
    response["Pragma"] = "no-cache"
    response["Content-Disposition"] = f'inline; filename="{image.filename}"'
    return response
