"""Admin building blocks shared by the apps (tenants is the one app every other may import)."""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most ``CAP`` rows: an exact count of millions of rows is too slow for a page."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return len(self.object_list.values_list("pk", flat=True)[: self.CAP])


class ReadOnlyAdminMixin:
    """Rows that are written only by services (or never): the admin shows them, nothing more."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass
