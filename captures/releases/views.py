"""Pages of the disclosure register: prepare a release, approve or refuse it, the register
with its exports, and evidence packages (build, progress, download).

Who: Officers and Administrators with current training prepare (from their own searches);
a different Administrator decides; Auditors and Administrators read and export the register;
an Officer sees the disclosures they prepared. Another agency's ids are simply not found.
"""

from __future__ import annotations

import dataclasses
import tempfile
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.exports import csv_stream, write_rows_xlsx
from captures.models import Capture
from captures.releases.forms import DecisionForm, PrepareForm, RegisterFilterForm
from captures.releases.models import Disclosure, EvidencePackage
from captures.releases.selectors import (
    captures_of_case,
    captures_of_search,
    confirmed_captures,
    disclosure_visible_to,
    disclosures_filtered,
    disclosures_for,
    latest_package,
    released_captures,
)
from captures.releases.services import (
    REGISTER_COLUMNS,
    DisclosureError,
    disclosure_decide,
    disclosure_prepare,
    disclosure_view_log,
    may_handle_package,
    package_download,
    package_request,
    register_export,
)
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role, has_role
from tenants.people.training import training_is_current

PREPARE_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)
REGISTER_ROLES = (Role.AUDITOR, Role.ADMINISTRATOR, Role.OFFICER)
EXPORT_ROLES = (Role.AUDITOR, Role.ADMINISTRATOR)
PAGE_SIZE = 100


def _disclosure(request: AgencyRequest, disclosure_id: int) -> Disclosure:
    disclosure = get_object_or_404(Disclosure, pk=disclosure_id)
    if not disclosure_visible_to(request.user, disclosure):
        raise Http404("No such disclosure.")
    return disclosure


def _prepare_source(request: AgencyRequest) -> tuple[list[Capture], str, dict[str, Any], bool]:
    """The captures offered, where they came from, initial values, and whether plates show."""
    agency = request.tenant
    params = request.POST if request.method == "POST" else request.GET
    if params.get("search"):
        event, found = captures_of_search(
            agency=agency, user=request.user, search_id=params["search"]
        )
        if event is None:
            raise Http404("No such search of yours.")
        initial = {"case_number": event.case_number}
        return found, f"search #{event.pk}", initial, True
    if params.get("case"):
        case = params["case"].strip()[:100]
        _searches, found = captures_of_case(agency=agency, user=request.user, case_number=case)
        return found, f"case {case}", {"case_number": case}, True
    if params.get("capture"):
        try:
            capture_id = uuid.UUID(params["capture"])
        except ValueError:
            raise Http404("No such capture.") from None
        capture = confirmed_captures(agency).filter(pk=capture_id).select_related("camera")
        found = list(capture)
        medium = params.get("medium") or Disclosure.Medium.PACKAGE
        initial = {"medium": medium}
        return found, f"capture {capture_id}", initial, False
    return [], "", {}, False


@require_access(*PREPARE_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def prepare(request: AgencyRequest) -> HttpResponse:
    """``?search=<id>`` (your own search), ``?case=<number>`` (your searches for a case) or
    ``?capture=<id>&medium=print`` (from the print form: a printout leaving the agency)."""
    found, source, initial, show_plates = _prepare_source(request)
    initial = {"medium": Disclosure.Medium.PACKAGE, **initial}
    if request.method == "POST":
        form = PrepareForm(request.POST, captures=found)
        if form.is_valid():
            try:
                disclosure = disclosure_prepare(
                    request=request,
                    agency=request.tenant,
                    data=dataclasses.replace(form.disclosure_input(), source=source),
                    capture_ids=form.cleaned_data["captures"],
                )
            except DisclosureError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    f"Disclosure #{disclosure.pk} recorded; a different Administrator must "
                    "approve it before anything leaves the agency.",
                )
                return redirect("releases:detail", disclosure_id=disclosure.pk)
    else:
        form = PrepareForm(
            initial={**initial, "captures": [str(c.pk) for c in found]}, captures=found
        )
    context = {
        "form": form,
        "found": found,
        "source": source,
        "show_plates": show_plates,
        "public_only": request.tenant.disclose_only_to_public_agencies,
        "search_id": request.GET.get("search", request.POST.get("search", "")),
        "case": request.GET.get("case", request.POST.get("case", "")),
        "capture": request.GET.get("capture", request.POST.get("capture", "")),
    }
    context["selected"] = [str(v) for v in (form["captures"].value() or [])]
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "releases/prepare.html", context, status=status)


@require_access(*REGISTER_ROLES)
@require_GET
@in_agency_time
def register(request: AgencyRequest) -> HttpResponse:
    form = RegisterFilterForm(request.GET or None)
    qs = disclosures_for(request.user)
    if form.is_bound and not form.is_valid():
        rows: list[Disclosure] = []
    else:
        filters = form.cleaned_data if form.is_bound else {}
        rows = list(disclosures_filtered(qs, filters=filters, tz=request.tenant.tz)[:PAGE_SIZE])
    return render(
        request,
        "releases/register.html",
        {
            "form": form,
            "rows": rows,
            "page_size": PAGE_SIZE,
            "querystring": request.GET.urlencode(),
            "can_export": has_role(request.user, *EXPORT_ROLES),
            "can_prepare": has_role(request.user, *PREPARE_ROLES),
        },
    )


def _plates_allowed(request: AgencyRequest) -> bool:
    user = request.user
    return isinstance(user, User) and has_role(user, *PREPARE_ROLES) and training_is_current(user)


@require_access(*REGISTER_ROLES)
@require_GET
@in_agency_time
def detail(request: AgencyRequest, disclosure_id: int) -> HttpResponse:
    disclosure = _disclosure(request, disclosure_id)
    shown = list(released_captures(agency=request.tenant, disclosure=disclosure))
    show_plates = _plates_allowed(request)
    if show_plates and shown:
        disclosure_view_log(request=request, disclosure=disclosure, shown=shown)
    user = request.user
    can_decide = (
        disclosure.status == Disclosure.Status.PREPARED
        and has_role(user, Role.ADMINISTRATOR)
        and disclosure.prepared_by_id != user.pk
    )
    return render(
        request,
        "releases/detail.html",
        {
            "d": disclosure,
            "shown": shown,
            "purged": disclosure.capture_count - len(shown),
            "show_plates": show_plates,
            "can_decide": can_decide,
            "own_release": disclosure.prepared_by_id == user.pk,
            "can_package": may_handle_package(user, disclosure) and show_plates,
            "package": latest_package(disclosure),
            "decision_form": DecisionForm(),
        },
    )


@require_access(Role.ADMINISTRATOR, trained=True)
@require_POST
def decide(request: AgencyRequest, disclosure_id: int) -> HttpResponse:
    disclosure = _disclosure(request, disclosure_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("releases:detail", disclosure_id=disclosure.pk)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        disclosure_decide(
            request=request,
            agency=request.tenant,
            disclosure_id=disclosure.pk,
            approve=approve,
            reason=form.cleaned_data.get("reason", ""),
        )
    except DisclosureError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Disclosure #{disclosure.pk} {'approved' if approve else 'refused'}."
        )
    return redirect("releases:detail", disclosure_id=disclosure.pk)


@require_access(*PREPARE_ROLES, trained=True)
@require_POST
def package_start(request: AgencyRequest, disclosure_id: int) -> HttpResponse:
    disclosure = _disclosure(request, disclosure_id)
    try:
        package_request(request=request, agency=request.tenant, disclosure=disclosure)
    except DisclosureError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The evidence package is being built; this page shows progress.")
    return redirect(
        reverse("releases:detail", kwargs={"disclosure_id": disclosure.pk}) + "#package"
    )


def _package(request: AgencyRequest, disclosure_id: int, package_id: int) -> EvidencePackage:
    disclosure = _disclosure(request, disclosure_id)
    if not may_handle_package(request.user, disclosure):
        raise Http404("No such package.")
    return get_object_or_404(
        EvidencePackage.objects.select_related("disclosure"), pk=package_id, disclosure=disclosure
    )


@require_access(*PREPARE_ROLES, trained=True)
@require_GET
def package_status(request: AgencyRequest, disclosure_id: int, package_id: int) -> HttpResponse:
    package = _package(request, disclosure_id, package_id)
    response = JsonResponse(
        {
            "status": package.status,
            "status_label": package.get_status_display(),
            "done": package.done,
            "total": package.total,
            "percent": package.percent,
            "error": package.error,
            "sha256": package.sha256,
            "download": reverse(
                "releases:package_download",
                kwargs={"disclosure_id": disclosure_id, "package_id": package.pk},
            )
            if package.status == EvidencePackage.Status.READY
            else None,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@require_access(*PREPARE_ROLES, trained=True)
@require_GET
def package_file(request: AgencyRequest, disclosure_id: int, package_id: int) -> HttpResponseBase:
    package = _package(request, disclosure_id, package_id)
    try:
        path = package_download(request=request, package=package)
    except DisclosureError as exc:
        messages.error(request, str(exc))
        return redirect("releases:detail", disclosure_id=disclosure_id)
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip"
    )
    response["Cache-Control"] = "no-store"
    return response


def _export(request: AgencyRequest, fmt: str) -> tuple[Any, str] | HttpResponse:
    form = RegisterFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        return HttpResponseBadRequest(f"Fix the filters before exporting: {problems}")
    agency = request.tenant
    qs = disclosures_filtered(
        disclosures_for(request.user),
        filters=form.cleaned_data if form.is_bound else {},
        tz=agency.tz,
    )
    rows = register_export(
        request=request,
        fmt=fmt,
        qs=qs,
        active_filters=form.active_filters() if form.is_bound else {},
    )
    stamp = timezone.now().astimezone(agency.tz).strftime("%Y%m%d-%H%M%S")
    return rows, f"disclosures-{agency.slug}-{stamp}.{fmt}"


@require_access(*EXPORT_ROLES)
@require_GET
def export_csv(request: AgencyRequest) -> HttpResponseBase:
    prepared = _export(request, "csv")
    if isinstance(prepared, HttpResponse):
        return prepared
    rows, filename = prepared
    response = StreamingHttpResponse(
        csv_stream(REGISTER_COLUMNS, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_access(*EXPORT_ROLES)
@require_GET
def export_xlsx(request: AgencyRequest) -> HttpResponseBase:
    prepared = _export(request, "xlsx")
    if isinstance(prepared, HttpResponse):
        return prepared
    rows, filename = prepared
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse
    write_rows_xlsx(columns=REGISTER_COLUMNS, rows=rows, out=out, sheet_name="Disclosures")
    out.seek(0)
    response = FileResponse(
        out,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response
