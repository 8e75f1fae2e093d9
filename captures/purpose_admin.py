"""Admin pages for the agency's search policy: authorized purposes and prohibited terms.

Registered from ``CapturesConfig.ready`` (kept apart from the camera/capture admin). Only
Administrators may see or change them; every change is written to the access log.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from audit.models import Action
from audit.services import record_event
from captures.models import AuthorizedPurpose, ProhibitedTerm
from tenants.people.roles import Role, has_role


class AdministratorsOnly(admin.ModelAdmin):
    def _is_admin(self, request) -> bool:
        return request.user.is_active and has_role(request.user, Role.ADMINISTRATOR)

    def has_module_permission(self, request) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request) -> bool:
        return self._is_admin(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)

    def _log(self, request, obj, verb: str) -> None:
        record_event(
            action=Action.SETTINGS_CHANGED,
            request=request,
            objects=[(obj._meta.model_name, obj.pk)],
            details={"setting": obj._meta.verbose_name, "change": verb, "value": str(obj)},
        )

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            self._log(request, obj, "changed" if change else "added")

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._log(request, obj, "deleted")
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self._log(request, obj, "deleted")
            super().delete_queryset(request, queryset)


@admin.register(AuthorizedPurpose)
class AuthorizedPurposeAdmin(AdministratorsOnly):
    list_display = ["name", "requires_detail", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    search_fields = ["name", "description"]


@admin.register(ProhibitedTerm)
class ProhibitedTermAdmin(AdministratorsOnly):
    list_display = ["term", "reason", "created_at"]
    search_fields = ["term", "reason"]
