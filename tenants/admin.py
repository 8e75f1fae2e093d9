"""The platform administration (public schema): agencies and their hosts.

Agency administrators never see this site: it is served only on the platform host,
to platform staff who passed their second factor.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from tenants.models import Agency, Domain
from tenants.people.admin_site import PortalAdminSite
from tenants.schemas import current_schema
from tenants.services import (
    AgencyError,
    agency_create,
    agency_domains_update,
    agency_setting_fields,
    agency_update_by_staff,
    normalize_hostname,
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
