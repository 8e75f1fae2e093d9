"""Admin views of the access log: read-only, capped counts on the big table."""

from __future__ import annotations

from django.contrib import admin
from django.db import connection

from audit.models import AccessEvent, AuditReport, ChainAnchor, Flag, LogPolicy
from audit.services import log_policy_set
from tenants.admin_tools import CappedPaginator, ReadOnlyAdmin


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "occurred_at", "actor_username", "action", "outcome", "case_number")
    list_filter = ("action", "outcome")
    search_fields = ("=actor_username", "=case_number")
    show_full_result_count = False
    paginator = CappedPaginator
    date_hierarchy = None
    ordering = ("-id",)


@admin.register(ChainAnchor)
class ChainAnchorAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "cutoff", "last_removed_id", "removed_count")


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdmin):
    list_display = ("id", "event_id", "kind", "actor_username", "event_at", "reviewed_at")
    list_filter = ("kind",)
    raw_id_fields = ("event",)
    search_fields = ("=actor_username",)
    show_full_result_count = False


@admin.register(AuditReport)
class AuditReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "period_start", "period_end", "chain_ok", "created_at")


@admin.register(LogPolicy)
class LogPolicyAdmin(admin.ModelAdmin):
    list_display = ("retention_days", "updated_at")

    def has_add_permission(self, request) -> bool:
        return connection.schema_name != "public" and not LogPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        saved = log_policy_set(retention_days=obj.retention_days, request=request)
        obj.pk = saved.pk
