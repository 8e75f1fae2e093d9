"""Agency settings edited by the agency's own Administrators: retention, time zone, policy...

The Agency row lives in ``public``; the change and its access-log entry (in the agency's
schema) are written in one transaction on the same connection.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from audit.models import Action
from audit.services import record_event
from tenants.models import MAX_RETENTION_DAYS, RETENTION_LIMIT_MESSAGE, Agency, AgencySettings
from tenants.people.roles import Role, has_role
from tenants.policy import DEFAULT_POLICY

SETTINGS_FIELDS = (
    "retention_days",
    "timezone",
    "require_case_number",
    "purge_hour",
    "contact_name",
    "contact_email",
    "policy_text",
)
RETENTION_MESSAGE = RETENTION_LIMIT_MESSAGE


def validate_retention_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"retention_days": RETENTION_MESSAGE}) from None
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValidationError({"retention_days": RETENTION_MESSAGE})
    return days


def _normalize_policy(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    # Saving the untouched default keeps the agency on the default (and its future fixes).
    return "" if text == DEFAULT_POLICY.strip() else text


def _describe(field: str, value: Any) -> Any:
    if field == "policy_text":
        return {"length": len(value), "default": value == ""}
    return value


def agency_settings_update(
    *,
    agency: Agency,
    changes: Mapping[str, Any],
    actor: Any = None,
    request: HttpRequest | None = None,
) -> list[str]:
    """Apply ``changes`` to the agency's settings; record them; return the changed field names.

    Raises ``ValidationError`` (with a plain message per field) and changes nothing when a
    value is not allowed, e.g. retention above 30 days.
    """
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not an agency setting: {', '.join(sorted(unknown))}.")
    values = dict(changes)
    if "retention_days" in values:
        values["retention_days"] = validate_retention_days(values["retention_days"])
    if "policy_text" in values:
        values["policy_text"] = _normalize_policy(values["policy_text"])
    with transaction.atomic():
        row = Agency.objects.select_for_update().get(pk=agency.pk)
        before = {field: getattr(row, field) for field in values}
        for field, value in values.items():
            setattr(row, field, value)
        row.full_clean(exclude=["schema_name"], validate_unique=False)
        changed = [field for field in values if getattr(row, field) != before[field]]
        if not changed:
            return []
        row.policy_updated_at = timezone.now()
        row.save(update_fields=[*changed, "policy_updated_at"])
        record_event(
            action=Action.SETTINGS_CHANGED,
            request=request,
            actor=actor,
            objects=[("agency", agency.pk)],
            details={
                "changes": {
                    field: {
                        "from": _describe(field, before[field]),
                        "to": _describe(field, getattr(row, field)),
                    }
                    for field in changed
                }
            },
        )
    # The caller's instance (often ``request.tenant``) sees the new values at once.
    for field in [*changed, "policy_updated_at"]:
        setattr(agency, field, getattr(row, field))
    return changed


# --- The "Agency settings" admin page -------------------------------------------------------


class AgencySettingsForm(forms.ModelForm):
    retention_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_RETENTION_DAYS,
        label="Retention (days)",
        help_text=(
            f"Captures older than this are never shown and are deleted by the nightly purge. "
            f"1 to {MAX_RETENTION_DAYS} days."
        ),
        error_messages={"min_value": RETENTION_MESSAGE, "max_value": RETENTION_MESSAGE},
    )
    timezone = forms.ChoiceField(
        choices=[(name, name) for name in sorted(zoneinfo.available_timezones())],
        label="Time zone",
        help_text="The agency's local time: the purge hour and the dates on its pages use it.",
    )
    purge_hour = forms.TypedChoiceField(
        coerce=int,
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        label="Purge hour",
        help_text="Hour of the day, in the agency's time zone, at which the nightly purge runs.",
    )

    class Meta:
        model = AgencySettings
        fields = SETTINGS_FIELDS
        widgets = {"policy_text": forms.Textarea(attrs={"rows": 30, "cols": 100})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.policy_text:
            self.initial["policy_text"] = DEFAULT_POLICY
        self.fields["policy_text"].help_text = (
            "Published at /policy/. Headings start with '## ', list items with '- ', a blank line "
            "ends a paragraph. Placeholders filled in from these settings: [agency_name], "
            "[retention_days], [max_retention_days], [purge_hour], [timezone], [custodian], "
            "[contact], [case_number_rule]. Empty the box to go back to the default policy."
        )

    def clean_policy_text(self) -> str:
        return _normalize_policy(self.cleaned_data.get("policy_text", ""))


def _is_agency_administrator(request: HttpRequest) -> bool:
    user = request.user
    return (
        connection.schema_name != "public"
        and user.is_active
        and user.is_staff
        and has_role(user, Role.ADMINISTRATOR)
    )


class AgencySettingsAdmin(admin.ModelAdmin):
    """One page: the signed-in Administrator's own agency. No list, no add, no delete."""

    form = AgencySettingsForm
    fieldsets = [
        ("Agency", {"fields": ["name", "policy_page"]}),
        ("Retention and purge", {"fields": ["retention_days", "purge_hour", "timezone"]}),
        ("Searches", {"fields": ["require_case_number"]}),
        ("Custodian", {"fields": ["contact_name", "contact_email"]}),
        ("Usage and privacy policy", {"fields": ["policy_text", "policy_updated_at"]}),
    ]
    readonly_fields = ["name", "policy_page", "policy_updated_at"]

    @admin.display(description="Public pages")
    def policy_page(self, obj: Agency) -> str:
        return mark_safe(  # noqa: S308 - a constant
            '<a href="/policy/">/policy/</a> · <a href="/transparency/">/transparency/</a>'
        )

    def get_queryset(self, request: HttpRequest):
        tenant = getattr(connection, "tenant", None)
        if tenant is None or connection.schema_name == "public":
            return AgencySettings.objects.none()
        return AgencySettings.objects.filter(pk=tenant.pk)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_agency_administrator(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return _is_agency_administrator(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return _is_agency_administrator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if not _is_agency_administrator(request):
            return super().changelist_view(request, extra_context)
        return HttpResponseRedirect(
            reverse("admin:tenants_agencysettings_change", args=[connection.tenant.pk])
        )

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        tenant = getattr(connection, "tenant", None)
        if tenant is None or str(object_id) != str(tenant.pk):
            raise Http404("No such agency.")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj, form, change) -> None:
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in SETTINGS_FIELDS}
        try:
            agency_settings_update(
                agency=connection.tenant, changes=changes, actor=request.user, request=request
            )
        except ValidationError as exc:  # the form validated the same rules; keep it plain
            raise ValidationError(exc.messages) from exc
