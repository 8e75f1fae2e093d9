"""Admin pages of agencies: the platform administration (public schema: agencies and their
hosts), and each agency's own "Agency settings" page on the agency admin site.

Agency administrators never see the platform site: it is served only on the platform host,
to platform staff who passed their second factor.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from tenants.models import (
    MAX_RETENTION_DAYS,
    RETENTION_LIMIT_MESSAGE,
    Agency,
    AgencySettings,
    Domain,
)
from tenants.people.admin_site import PortalAdminSite
from tenants.people.roles import Role, has_role
from tenants.policy import DEFAULT_POLICY
from tenants.schemas import current_schema
from tenants.services import (
    AGENCY_SETTINGS_FIELDS,
    AgencyError,
    agency_create,
    agency_domains_update,
    agency_setting_fields,
    agency_settings_update,
    agency_update_by_staff,
    normalize_hostname,
    normalize_policy,
    validate_admin,
    validate_new_agency,
)


class PlatformAdminSite(PortalAdminSite):
    site_header = "ALPR Portal — platform administration"
    site_title = "ALPR Portal platform"
    index_title = "Agencies and platform staff"

    def has_permission(self, request: HttpRequest) -> bool:
        return current_schema() == "public" and super().has_permission(request)


# Named "admin" like the agency site: each host mounts exactly one of them.
platform_admin_site = PlatformAdminSite(name="admin")


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary"]


class AgencyCreationForm(forms.ModelForm):
    domain = forms.CharField(
        help_text="Host the agency is served at, e.g. springfield.alpr.example.org"
    )
    admin_username = forms.CharField(required=False, help_text="First administrator (optional)")
    admin_email = forms.EmailField(required=False)

    class Meta:
        model = Agency
        fields = ["slug", "name", "timezone"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        try:
            data["domain"] = normalize_hostname(data.get("domain") or "")
            validate_new_agency(
                slug=data.get("slug") or "", name=data.get("name") or "", host=data["domain"]
            )
            if data.get("admin_username"):
                validate_admin(data["admin_username"], data.get("admin_email"))
        except AgencyError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(Agency, site=platform_admin_site)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "primary_domain", "retention_days", "timezone", "created_at"]
    search_fields = ["name", "slug", "domains__domain"]
    readonly_fields = ["schema_name", "slug", "created_at"]
    fields = [
        "name", "slug", "schema_name", "timezone", "retention_days", "require_case_number",
        "purge_hour", "contact_name", "contact_email", "created_at",
    ]  # fmt: skip
    inlines = [DomainInline]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains")
        )

    @admin.display(description="Host")
    def primary_domain(self, obj: Agency) -> str:
        return next((d.domain for d in obj.domains.all() if d.is_primary), "")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Removing an agency destroys its evidence trail; that is a database operation, not a click.
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AgencyCreationForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": [
                            "slug",
                            "name",
                            "timezone",
                            "domain",
                            "admin_username",
                            "admin_email",
                        ]
                    },
                )
            ]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request, obj, form, change):
        if change:
            # Through the service: the change is written to the agency's own access log.
            settings = set(agency_setting_fields())
            agency_update_by_staff(
                agency=obj,
                changes={f: form.cleaned_data[f] for f in form.changed_data if f in settings},
                staff=request.user,
                request=request,
            )
            return None
        data = form.cleaned_data
        result = agency_create(
            slug=data["slug"],
            name=data["name"],
            domain=data["domain"],
            timezone=data["timezone"],
            admin_username=data["admin_username"] or None,
            admin_email=data["admin_email"] or None,
        )
        obj.pk = result.agency.pk
        obj.schema_name = result.agency.schema_name
        obj._state.adding = False
        if result.admin_password:
            messages.warning(
                request,
                f"First administrator {result.admin_username}: one-time password "
                f"{result.admin_password} (shown once). They enrol a second factor at first sign-in "
                f"at {result.domain}.",
            )

    def save_formset(self, request, form, formset, change):
        if formset.model is not Domain:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        agency_domains_update(
            agency=form.instance,
            added=formset.new_objects,
            changed=formset.changed_objects,
            removed=formset.deleted_objects,
            staff=request.user,
            request=request,
        )
        return None


platform_admin_site.register(User, UserAdmin)
platform_admin_site.register(Group, GroupAdmin)


# --- The agency's own "Agency settings" page -------------------------------------------------


class AgencySettingsForm(forms.ModelForm):
    retention_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_RETENTION_DAYS,
        label="Retention (days)",
        help_text=(
            f"Captures older than this are never shown and are deleted by the nightly purge. "
            f"1 to {MAX_RETENTION_DAYS} days."
        ),
        error_messages={"min_value": RETENTION_LIMIT_MESSAGE, "max_value": RETENTION_LIMIT_MESSAGE},
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
        fields = AGENCY_SETTINGS_FIELDS
        widgets = {"policy_text": forms.Textarea(attrs={"rows": 30, "cols": 100})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
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
        return normalize_policy(self.cleaned_data.get("policy_text", ""))


def _current_agency() -> Agency | None:
    """The agency whose schema the connection is on (django-tenants sets it); None in public."""
    if getattr(connection, "schema_name", "public") == "public":
        return None
    return getattr(connection, "tenant", None)


def _is_agency_administrator(request: HttpRequest) -> bool:
    user = request.user
    return (
        _current_agency() is not None
        and user.is_active
        and user.is_staff
        and has_role(user, Role.ADMINISTRATOR)
    )


@admin.register(AgencySettings)  # the agency admin site (admin.site), on every agency's host
class AgencySettingsAdmin(admin.ModelAdmin):
    """One page: the signed-in Administrator's own agency. No list, no add, no delete."""

    form = AgencySettingsForm
    fieldsets = [
        ("Agency", {"fields": ["name", "policy_page"]}),
        ("Retention and purge", {"fields": ["retention_days", "purge_hour", "timezone"]}),
        ("Searches", {"fields": ["require_case_number"]}),
        ("Releases outside the agency", {"fields": ["disclose_only_to_public_agencies"]}),
        ("Custodian", {"fields": ["contact_name", "contact_email"]}),
        ("Usage and privacy policy", {"fields": ["policy_text", "policy_updated_at"]}),
    ]
    readonly_fields = ["name", "policy_page", "policy_updated_at"]

    @admin.display(description="Public pages")
    def policy_page(self, obj: Agency) -> SafeString:
        return mark_safe(  # noqa: S308 - a constant
            '<a href="/policy/">/policy/</a> · <a href="/transparency/">/transparency/</a>'
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgencySettings]:
        agency = _current_agency()
        if agency is None:
            return AgencySettings.objects.none()
        return AgencySettings.objects.filter(pk=agency.pk)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_agency_administrator(request)

    def has_view_permission(self, request: HttpRequest, obj: Agency | None = None) -> bool:
        return _is_agency_administrator(request)

    def has_change_permission(self, request: HttpRequest, obj: Agency | None = None) -> bool:
        return _is_agency_administrator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Agency | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        agency = _current_agency()
        if agency is None or not _is_agency_administrator(request):
            return super().changelist_view(request, extra_context)
        return HttpResponseRedirect(
            reverse("admin:tenants_agencysettings_change", args=[agency.pk])
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        agency = _current_agency()
        if agency is None or str(object_id) != str(agency.pk):
            raise Http404("No such agency.")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: AgencySettings, form: forms.ModelForm, change: bool
    ) -> None:
        # Through the service, which validates, saves and logs ``settings_changed``.
        agency = _current_agency()
        if agency is None:  # change_view answered 404 already
            raise Http404("No such agency.")
        changes = {
            f: form.cleaned_data[f] for f in form.changed_data if f in AGENCY_SETTINGS_FIELDS
        }
        try:
            agency_settings_update(
                agency=agency, changes=changes, actor=request.user, request=request
            )
        except ValidationError as exc:  # the form validated the same rules; keep it plain
            raise ValidationError(exc.messages) from exc
