"""Admin pages of the agency's search policy: authorized purposes and prohibited terms.

Only Administrators may see or change them; saving and deleting go through the search
services, which write each change to the access log.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from captures.models import AuthorizedPurpose, ProhibitedTerm
from captures.search.services import search_policy_delete, search_policy_save
from tenants.people.roles import Role, has_role


class AdministratorsOnly(admin.ModelAdmin):
    def _is_admin(self, request: HttpRequest) -> bool:
        return request.user.is_active and has_role(request.user, Role.ADMINISTRATOR)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._is_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._is_admin(request)

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        search_policy_save(item=obj, adding=not change, request=request)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        search_policy_delete(items=type(obj).objects.filter(pk=obj.pk), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        search_policy_delete(items=queryset, request=request)


@admin.register(AuthorizedPurpose)
class AuthorizedPurposeAdmin(AdministratorsOnly):
    list_display = ["name", "use", "requires_detail", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    search_fields = ["name", "description"]


@admin.register(ProhibitedTerm)
class ProhibitedTermAdmin(AdministratorsOnly):
    list_display = ["term", "reason", "created_at"]
    search_fields = ["term", "reason"]
