"""Agency admin of the captures app: a read-only, plate-free view of captures (their
processing status); each capability folder registers its own models (imported below)."""

from __future__ import annotations

from django.contrib import admin

from captures.ingest import admin as ingest_admin  # noqa: F401  (cameras, failed sign-ins)
from captures.models import Capture
from captures.retention.selectors import visible_captures
from captures.search import admin as search_admin  # noqa: F401  (search policy)
from captures.storage import admin as storage_admin  # noqa: F401  (day keys)
from tenants.admin_tools import CappedPaginator, ReadOnlyAdmin

# Operational fields only: plate numbers are looked up through the search pages, which ask
# for a purpose and write the access log. The admin must not be a way around that (and every
# admin gets tenants.admin_tools.NoPlatesAdminMixin, which enforces it whatever is listed here:
# no plate lookups, no history page, no str(capture) in titles).
CAPTURE_ADMIN_FIELDS = (
    "id",
    "camera",
    "captured_at",
    "received_at",
    "status",
    "ocr_model",
    "read_at",
    "machine_confidence",
    "review_status",
    "reviewed_at",
    "key_day",
)


@admin.register(Capture)
class CaptureAdmin(ReadOnlyAdmin):
    list_display = ["captured_at", "camera", "status", "review_status", "machine_confidence"]
    list_filter = ["status", "review_status"]
    list_select_related = ["camera"]
    fields = CAPTURE_ADMIN_FIELDS
    readonly_fields = CAPTURE_ADMIN_FIELDS
    show_full_result_count = False
    paginator = CappedPaginator
    list_per_page = 50
    ordering = ["-captured_at"]

    def get_queryset(self, request):
        return visible_captures(request.tenant).select_related("camera")
