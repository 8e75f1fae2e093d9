"""Agency admin: refused camera keys, counted per hour, address, key prefix and reason.

Read-only; rows are written by ``captures.api_limits`` only. Registered from the app's
``ready()`` (like the search-policy admin) so that the camera admin module stays as it is.
"""

from __future__ import annotations

from django.contrib import admin

from captures.models import CameraAuthFailure
from tenants.admin_tools import CappedPaginator, ReadOnlyAdmin


@admin.register(CameraAuthFailure)
class CameraAuthFailureAdmin(ReadOnlyAdmin):
    list_display = [
        "window_start",
        "client_ip",
        "key_prefix",
        "camera",
        "reason",
        "attempts",
        "first_at",
        "last_at",
    ]
    list_filter = ["reason", "window_start"]
    search_fields = ["client_ip", "key_prefix", "camera__name"]
    list_select_related = ["camera"]
    paginator = CappedPaginator
    show_full_result_count = False
    fields = list_display
