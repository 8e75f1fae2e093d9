"""The incident pages: the list, opening one, its page (what happened, the affected data,
the notifications) and the changes made from it, and the CSV of the affected data.

Who: Administrators and Auditors read; Administrators open, change and close. Every page
that shows the affected data (plates) is logged (``incident_viewed``, ``export``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.incidents.forms import (
    AffectedAddForm,
    AffectedRemoveForm,
    CloseForm,
    IncidentForm,
    NotificationDoneForm,
    NotificationForm,
)
from audit.incidents.models import Incident
from audit.incidents.selectors import incident_items, incidents_listed
from audit.incidents.services import (
    IncidentRefused,
    Scope,
    affected_add,
    affected_export_csv,
    affected_remove,
    incident_close,
    incident_open,
    incident_page_view,
    incident_update,
    notification_add,
    notification_done,
)
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role, has_role

READ_ROLES = (Role.ADMINISTRATOR, Role.AUDITOR)
CHANGE_ROLES = (Role.ADMINISTRATOR,)


def _scope(data: dict[str, Any]) -> Scope:
    return Scope(
        window_start=data["window_start"],
        window_end=data["window_end"],
        accounts=data["suspected_accounts"],
        addresses=data["suspected_addresses"],
    )


def _problem(form: forms.Form) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name if name in form.fields else ""
        text = " ".join(str(error) for error in errors)
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


def _back(request: AgencyRequest, incident_id: int, problem: str = "") -> HttpResponse:
    if problem:
        messages.error(request, problem)
    return redirect("incidents:detail", incident_id=incident_id)


@require_access(*READ_ROLES, trained=True)
@require_GET
@in_agency_time
def incident_list(request: AgencyRequest) -> HttpResponse:
    return render(request, "incidents/list.html", {"incidents": incidents_listed()[:500]})


@require_access(*CHANGE_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def incident_new(request: AgencyRequest) -> HttpResponse:
    form = IncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = incident_open(
                request=request,
                title=data["title"],
                description=data["description"],
                scope=_scope(data),
            )
        except IncidentRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Incident {incident.reference} opened: {incident.items.count()} items found "
                "in the access log.",
            )
            return redirect("incidents:detail", incident_id=incident.pk)
    return render(request, "incidents/new.html", {"form": form})


def _edit_form(incident: Incident) -> IncidentForm:
    return IncidentForm(
        initial={
            "title": incident.title,
            "description": incident.description,
            "window_start": incident.window_start,
            "window_end": incident.window_end,
            "suspected_accounts": "\n".join(incident.suspected_accounts),
            "suspected_addresses": "\n".join(incident.suspected_addresses),
        }
    )


@require_access(*READ_ROLES, trained=True)
@require_GET
@in_agency_time
def incident_detail(request: AgencyRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    items = list(incident_items(incident))
    incident_page_view(request=request, incident=incident, shown=len(items))
    context = {
        "incident": incident,
        "items": items,
        "removed": list(incident_items(incident, removed=True)),
        "notifications": list(incident.notifications.all()),
        "edit_form": _edit_form(incident),
        "add_form": AffectedAddForm(),
        "remove_form": AffectedRemoveForm(),
        "notification_form": NotificationForm(),
        "done_form": NotificationDoneForm(),
        "close_form": CloseForm(),
        "can_change": has_role(request.user, Role.ADMINISTRATOR),
    }
    return render(request, "incidents/detail.html", context)


@require_access(*CHANGE_ROLES, trained=True)
@require_POST
@in_agency_time
def incident_edit(request: AgencyRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    form = IncidentForm(request.POST)
    if not form.is_valid():
        return _back(request, incident.pk, _problem(form))
    data = form.cleaned_data
    try:
        incident_update(
            request=request,
            incident_id=incident.pk,
            title=data["title"],
            description=data["description"],
            scope=_scope(data),
        )
    except IncidentRefused as exc:
        return _back(request, incident.pk, str(exc))
    messages.success(request, "Incident updated.")
    return _back(request, incident.pk)


@require_access(*CHANGE_ROLES, trained=True)
@require_POST
def item_add(request: AgencyRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    form = AffectedAddForm(request.POST)
    if not form.is_valid():
        return _back(request, incident.pk, _problem(form))
    try:
        affected_add(request=request, incident_id=incident.pk, **form.cleaned_data)
    except IncidentRefused as exc:
        return _back(request, incident.pk, str(exc))
    messages.success(request, "Item added to the affected data.")
    return _back(request, incident.pk)


@require_access(*CHANGE_ROLES, trained=True)
@require_POST
def item_remove(request: AgencyRequest, incident_id: int, item_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    form = AffectedRemoveForm(request.POST)
    if not form.is_valid():
        return _back(request, incident.pk, _problem(form))
    try:
        affected_remove(
            request=request,
            incident_id=incident.pk,
            item_id=item_id,
            note=form.cleaned_data["note"],
        )
    except IncidentRefused as exc:
        return _back(request, incident.pk, str(exc))
    messages.success(request, "Item removed from the affected data.")
    return _back(request, incident.pk)


@require_access(*CHANGE_ROLES, trained=True)
@require_POST
def notification_new(request: AgencyRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    form = NotificationForm(request.POST)
    if not form.is_valid():
        return _back(request, incident.pk, _problem(form))
    try:
        notification_add(request=request, incident_id=incident.pk, **form.cleaned_data)
    except IncidentRefused as exc:
        return _back(request, incident.pk, str(exc))
    messages.success(request, "Notification added.")
    return _back(request, incident.pk)


@require_access(*CHANGE_ROLES, trained=True)
@require_POST
def notification_record(
    request: AgencyRequest, incident_id: int, notification_id: int
) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    form = NotificationDoneForm(request.POST)
    if not form.is_valid():
        return _back(request, incident.pk, _problem(form))
    try:
        notification_done(
            request=request,
            incident_id=incident.pk,
            notification_id=notification_id,
            method=form.cleaned_data["method"],
            note=form.cleaned_data["note"],
        )
    except IncidentRefused as exc:
        return _back(request, incident.pk, str(exc))
    messages.success(request, "Notification recorded as done.")
    return _back(request, incident.pk)


@require_access(*CHANGE_ROLES, trained=True)
@require_POST
def incident_close_view(request: AgencyRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    form = CloseForm(request.POST)
    if not form.is_valid():
        return _back(request, incident.pk, _problem(form))
    try:
        incident_close(request=request, incident_id=incident.pk, note=form.cleaned_data["note"])
    except IncidentRefused as exc:
        return _back(request, incident.pk, str(exc))
    messages.success(request, f"Incident {incident.reference} closed.")
    return _back(request, incident.pk)


@require_access(*READ_ROLES, trained=True)
@require_GET
def affected_csv(request: AgencyRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    body = affected_export_csv(request=request, incident=incident)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="incident-{incident.pk}-affected-data.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response
