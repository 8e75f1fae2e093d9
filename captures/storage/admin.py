"""Agency admin: the image data keys of each UTC day (read-only; never the key itself)."""

from __future__ import annotations

from django.contrib import admin

from captures.models import DataKey
from tenants.admin_tools import ReadOnlyAdmin


@admin.register(DataKey)
class DataKeyAdmin(ReadOnlyAdmin):
    list_display = ["day", "master_key_id", "created_at", "destroyed_at"]
    fields = ("day", "master_key_id", "created_at", "destroyed_at")
    readonly_fields = fields
