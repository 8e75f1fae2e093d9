"""Admin views of the access log: read-only, capped counts on the big table.

The admin lists entries by who, what and when only: their queries, details and free text
(which carry plates) are read on the audit pages, linked from each entry. Like every admin,
these get ``tenants.admin_tools.NoPlatesAdminMixin`` from the site.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from audit.models import AccessEvent, AuditReport, ChainAnchor, Flag, LogPolicy
from audit.retention import log_policy_set
from tenants.admin_tools import CappedPaginator, ReadOnlyAdmin
from tenants.schemas import current_schema


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "occurred_at", "actor_username", "action", "outcome", "case_number")
    list_filter = ("action", "outcome")
    search_fields = ("=actor_username", "=case_number")
    show_full_result_count = False
    paginator = CappedPaginator
    date_hierarchy = None
    ordering = ("-id",)
    readonly_fields = ("audit_page",)

    @admin.display(description="Full entry")
    def audit_page(self, obj: AccessEvent) -> str:
        return format_html(
            '<a href="{}">Open on the audit pages (purpose, query, details)</a>',
            reverse("audit:event", args=[obj.id]),
        )


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
    readonly_fields = ("audit_page",)

    @admin.display(description="Full entry")
    def audit_page(self, obj: Flag) -> str:
        return format_html(
            '<a href="{}">Open the flagged entry on the audit pages</a>',
            reverse("audit:event", args=[obj.event_id]),
        )


@admin.register(AuditReport)
class AuditReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "period_start", "period_end", "chain_ok", "created_at")
    readonly_fields = ("audit_page",)

    @admin.display(description="Report")
    def audit_page(self, obj: AuditReport) -> str:
        return format_html(
            '<a href="{}">Read it on the audit pages</a>', reverse("audit:report", args=[obj.id])
        )


@admin.register(LogPolicy)
class LogPolicyAdmin(admin.ModelAdmin):
    list_display = ("retention_days", "updated_at")

    def has_add_permission(self, request) -> bool:
        return current_schema() != "public" and not LogPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        saved = log_policy_set(retention_days=obj.retention_days, request=request)
        obj.pk = saved.pk
