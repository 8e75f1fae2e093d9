"""Auditor pages: the access log, events, users, flags, charts, exports and reports.

Open to the Auditor and Administrator roles. Everything is read from the current agency's
schema, so another agency's ids are simply not found (404).
"""

from __future__ import annotations

import datetime
import json
import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit import charts
from audit.chain import utc_stamp
from audit.describe import change_lines, plates_of, what_happened
from audit.exports import access_log_export, csv_chunks, write_xlsx
from audit.flags import FlagError, flag_review, flags_scan
from audit.forms import EventFilterForm, FlagFilterForm, FlagReviewForm, PeriodForm
from audit.models import AccessEvent, Action, AuditReport, Flag, FlagKind, FlagScanState
from audit.reports import report_create, report_export
from audit.selectors import (
    configuration_changes,
    event_get,
    events_filtered,
    events_page,
    flags_for_events,
    local_day_start,
    searches_per_day_by_category,
    searches_per_user,
)
from tenants.http import SignedInRequest
from tenants.models import Agency
from tenants.people.access import require_access
from tenants.people.roles import Role
from tenants.plates import confusable_groups_text, folds

AUDIT_ROLES = (Role.AUDITOR, Role.ADMINISTRATOR)
CURSOR_PARAMS = ("after", "before")


def _cursor(request: SignedInRequest, name: str) -> int | None:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise ValueError(f"The page marker {name}={raw!r} is not a number.")
    return int(raw)


def _querystring(request: SignedInRequest, *, drop: tuple[str, ...] = CURSOR_PARAMS) -> str:
    params = request.GET.copy()
    for name in drop:
        params.pop(name, None)
    return params.urlencode()


def _render(request: SignedInRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context.setdefault("tz_name", request.tenant.timezone)
    return render(request, template, context)


def _usernames() -> list[str]:
    return list(get_user_model().objects.order_by("username").values_list("username", flat=True))


@require_GET
@require_access(*AUDIT_ROLES)
def events(request: SignedInRequest) -> HttpResponse:
    agency = request.tenant
    form = EventFilterForm(request.GET or None)
    try:
        after, before = _cursor(request, "after"), _cursor(request, "before")
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    if form.is_bound and not form.is_valid():
        page = None
    else:
        filters = form.cleaned_data if form.is_bound else {}
        qs = events_filtered(filters=filters, tz=agency.tz)
        page = events_page(qs, after=after, before=before)
    event_flags = flags_for_events([e.id for e in page.events]) if page else {}
    last_check = AccessEvent.objects.filter(action=Action.AUDIT_VERIFIED).order_by("-id").first()
    return _render(
        request,
        "audit/events.html",
        {
            "form": form,
            "page": page,
            "rows": [
                (e, event_flags.get(e.id, []), plates_of(e), what_happened(e, agency.tz))
                for e in page.events
            ]
            if page
            else [],
            "qs": _querystring(request),
            "usernames": _usernames(),
            "last_check": last_check,
            "tz_name": agency.timezone,
            "plate_folding": _plate_folding(form),
        },
    )


def _plate_folding(form: EventFilterForm) -> dict[str, str] | None:
    """What the page says when the plate filter treated look-alike characters as one."""
    plate = form.cleaned_data.get("plate", "") if form.is_bound and form.is_valid() else ""
    if not plate or not folds(plate):
        return None
    return {"plate": plate, "groups": confusable_groups_text()}


@require_GET
@require_access(*AUDIT_ROLES)
def event_detail(request: SignedInRequest, event_id: int) -> HttpResponse:
    event = event_get(event_id=event_id)
    related = (
        AccessEvent.objects.filter(id=event.related_event_id).first()
        if event.related_event_id
        else None
    )
    followups = [
        (f, what_happened(f, request.tenant.tz))
        for f in AccessEvent.objects.filter(related_event_id=event.id).order_by("id")[:50]
    ]
    return _render(
        request,
        "audit/event.html",
        {
            "event": event,
            "utc": utc_stamp(event.occurred_at),
            "what": what_happened(event, request.tenant.tz),
            "plates": plates_of(event),
            "query_json": json.dumps(event.query, indent=2, ensure_ascii=False, sort_keys=True),
            "details_json": json.dumps(event.details, indent=2, ensure_ascii=False, sort_keys=True),
            "flags": list(event.flags.order_by("kind")),
            "review_form": FlagReviewForm(),
            "related": related,
            "followups": followups,
            "tz_name": request.tenant.timezone,
        },
    )


def _period(
    request: SignedInRequest, days: int = 30
) -> tuple[PeriodForm, datetime.date, datetime.date, datetime.datetime, datetime.datetime]:
    agency = request.tenant
    form = PeriodForm(request.GET or None)
    today = timezone.now().astimezone(agency.tz).date()
    start_day, end_day = today - datetime.timedelta(days=days - 1), today
    if form.is_bound and form.is_valid():
        chosen_from = form.cleaned_data.get("date_from")
        chosen_to = form.cleaned_data.get("date_to")
        end_day = chosen_to or max(today, chosen_from or today)
        start_day = chosen_from or end_day - datetime.timedelta(days=days - 1)
        if (end_day - start_day).days > 366:
            start_day = end_day - datetime.timedelta(days=366)
    start = local_day_start(start_day, agency.tz)
    end = local_day_start(end_day + datetime.timedelta(days=1), agency.tz)
    return form, start_day, end_day, start, end


@require_GET
@require_access(*AUDIT_ROLES)
def user_detail(request: SignedInRequest, username: str) -> HttpResponse:
    agency = request.tenant
    user = get_user_model().objects.filter(username=username).first()
    if user is None and not AccessEvent.objects.filter(actor_username=username).exists():
        raise Http404("No such user in this agency.")
    form, start_day, end_day, start, end = _period(request)
    per_day = searches_per_day_by_category(
        start=start, end=end, tz=agency.tz, actor_username=username
    )
    totals = sum(sum(v.values()) for v in per_day.values())
    recent = list(AccessEvent.objects.filter(actor_username=username).order_by("-id")[:25])
    flags = list(Flag.objects.filter(actor_username=username).order_by("-id")[:25])
    training = None
    if user is not None:
        from tenants.people.training import training_due_date

        training = training_due_date(user)
    return _render(
        request,
        "audit/user.html",
        {
            "username": username,
            "person": user,
            "training_due": training,
            "form": form,
            "start_day": start_day,
            "end_day": end_day,
            "total": totals,
            "chart": charts.stacked_days(
                per_day, start=start_day, end=end_day, title=f"Searches per day by {username}"
            ),
            "recent": recent,
            "flags": flags,
            "tz_name": agency.timezone,
        },
    )


@require_GET
@require_access(*AUDIT_ROLES)
def flags(request: SignedInRequest) -> HttpResponse:
    form = FlagFilterForm(request.GET or None)
    try:
        after = _cursor(request, "after")
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    qs = Flag.objects.all()
    status = "open"
    if form.is_valid():
        status = form.cleaned_data.get("status") or "open"
        if form.cleaned_data.get("kind"):
            qs = qs.filter(kind=form.cleaned_data["kind"])
        if form.cleaned_data.get("user"):
            qs = qs.filter(actor_username=form.cleaned_data["user"])
    if status == "open":
        qs = qs.filter(reviewed_at__isnull=True)
    elif status == "reviewed":
        qs = qs.filter(reviewed_at__isnull=False)
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = list(qs.order_by("-id")[:51])
    state = FlagScanState.objects.filter(pk=1).first()
    return _render(
        request,
        "audit/flags.html",
        {
            "form": form,
            "flags": rows[:50],
            "older": rows[49].id if len(rows) > 50 else None,
            "qs": _querystring(request),
            "state": state,
            "status": status,
        },
    )


@require_POST
@require_access(*AUDIT_ROLES)
def flags_refresh(request: SignedInRequest) -> HttpResponse:
    added = flags_scan(agency=request.tenant)
    messages.success(request, f"Flags are up to date ({added} new).")
    return redirect("audit:flags")


@require_POST
@require_access(*AUDIT_ROLES)
def flag_review_view(request: SignedInRequest, flag_id: int) -> HttpResponse:
    flag = get_object_or_404(Flag, id=flag_id)
    form = FlagReviewForm(request.POST)
    target = reverse("audit:event", args=[flag.event_id])
    if not form.is_valid():
        messages.error(
            request, " ".join(str(m) for m in form.errors.get("note", ["Write a review note."]))
        )
        return redirect(target)
    try:
        flag_review(
            flag_id=flag.id, user=request.user, note=form.cleaned_data["note"], request=request
        )
    except FlagError as exc:
        messages.error(request, str(exc))
        return redirect(target)
    messages.success(request, f"Flag “{flag.get_kind_display()}” marked reviewed.")
    return redirect(target)


@require_GET
@require_access(*AUDIT_ROLES)
def charts_view(request: SignedInRequest) -> HttpResponse:
    agency = request.tenant
    form, start_day, end_day, start, end = _period(request)
    per_day = searches_per_day_by_category(start=start, end=end, tz=agency.tz)
    per_user = searches_per_user(start=start, end=end)
    return _render(
        request,
        "audit/charts.html",
        {
            "form": form,
            "start_day": start_day,
            "end_day": end_day,
            "per_day_chart": charts.stacked_days(
                per_day,
                start=start_day,
                end=end_day,
                title="Searches per day by purpose category",
            ),
            "per_user_chart": charts.horizontal_bars(per_user, title="Searches per user"),
            "per_user": per_user,
            "total": sum(n for _, n, _ in per_user),
        },
    )


def _export_request(
    request: SignedInRequest, fmt: str
) -> tuple[tuple[QuerySet[AccessEvent], Agency, str] | None, HttpResponse | None]:
    agency = request.tenant
    form = EventFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        return None, HttpResponseBadRequest(f"Fix the filters before exporting: {problems}")
    qs = access_log_export(
        request=request,
        fmt=fmt,
        filters=form.cleaned_data if form.is_bound else {},
        active_filters=form.active_filters() if form.is_bound else {},
        tz=agency.tz,
    )
    stamp = timezone.now().astimezone(agency.tz).strftime("%Y%m%d-%H%M%S")
    return (qs, agency, f"access-log-{agency.slug}-{stamp}.{fmt}"), None


@require_GET
@require_access(*AUDIT_ROLES)
def export_csv(request: SignedInRequest) -> HttpResponseBase:
    prepared, error = _export_request(request, "csv")
    if prepared is None:
        return error or HttpResponseBadRequest("Nothing to export.")
    qs, agency, filename = prepared
    response = StreamingHttpResponse(
        csv_chunks(qs, tz=agency.tz, schema_name=agency.schema_name),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@require_access(*AUDIT_ROLES)
def export_xlsx(request: SignedInRequest) -> HttpResponseBase:
    prepared, error = _export_request(request, "xlsx")
    if prepared is None:
        return error or HttpResponseBadRequest("Nothing to export.")
    qs, agency, filename = prepared
    # XLSX is a zip whose index is written last, so it is built in a temporary file
    # (constant memory) and then streamed from disk.
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse
    write_xlsx(qs, tz=agency.tz, out=out)
    out.seek(0)
    response = FileResponse(
        out,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@require_access(*AUDIT_ROLES)
def reports(request: SignedInRequest) -> HttpResponse:
    return _render(
        request, "audit/reports.html", {"reports": AuditReport.objects.order_by("-id")[:100]}
    )


@require_POST
@require_access(*AUDIT_ROLES)
def report_generate(request: SignedInRequest) -> HttpResponse:
    agency = request.tenant
    flags_scan(agency=agency)
    end = timezone.now()
    report = report_create(
        agency=agency,
        period_start=end - datetime.timedelta(days=7),
        period_end=end,
        actor=request.user,
    )
    messages.success(request, "Report generated for the last 7 days.")
    return redirect("audit:report", report_id=report.id)


@require_GET
@require_access(*AUDIT_ROLES)
def report_detail(request: SignedInRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(AuditReport, id=report_id)
    summary = report.summary or {}
    kinds, actions = dict(FlagKind.choices), dict(Action.choices)
    return _render(
        request,
        "audit/report.html",
        {
            "report": report,
            "s": summary,
            "verification": summary.get("verification", {}),
            "flags_by_kind": sorted(
                (kinds.get(k, k), n) for k, n in summary.get("flags_by_kind", {}).items()
            ),
            "by_action": sorted(
                (actions.get(a, a), n) for a, n in summary.get("by_action", {}).items()
            ),
        },
    )


@require_GET
@require_access(*AUDIT_ROLES)
def report_download(request: SignedInRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(AuditReport, id=report_id)
    body = report_export(report=report, request=request)
    response = HttpResponse(body, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-report-{report.period_end:%Y%m%d}-{report.id}.md"'
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@require_access(*AUDIT_ROLES)
def changes(request: SignedInRequest) -> HttpResponse:
    """Who changed users, roles, training, cameras and settings (django-auditlog)."""
    try:
        after = _cursor(request, "after")
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    qs = configuration_changes()  # captures' and reviews' history (plates) is not listed here
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = list(qs[:51])
    return _render(
        request,
        "audit/changes.html",
        {
            "entries": [(entry, change_lines(entry)) for entry in rows[:50]],
            "older": rows[49].id if len(rows) > 50 else None,
        },
    )
