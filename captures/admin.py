"""Agency admin for cameras (create, rotate key, deactivate: all through services) and a
read-only, plate-free view of captures (their processing status) and data keys.

Django imports this module (admin autodiscovery); each capability folder's admin module is
imported here, so its pages register on the agency admin site too.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from captures.models import Camera, Capture, DataKey
from captures.search import admin as search_admin  # noqa: F401  (search policy)
from captures.services import (
    CameraError,
    camera_create,
    camera_deactivate,
    camera_rotate_key,
    camera_update,
)
from tenants.admin_tools import CappedPaginator, ReadOnlyAdmin


def _show_keys(request: HttpRequest, admin_obj, rows: list[tuple[Camera, str]], title: str):
    """A page that shows new API keys once; nothing stores them in clear."""
    context = {
        **admin_obj.admin_site.each_context(request),
        "title": title,
        "rows": rows,
        "opts": admin_obj.model._meta,
    }
    response = TemplateResponse(request, "admin/captures/camera/api_keys.html", context)
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


class CameraForm(forms.ModelForm):
    class Meta:
        model = Camera
        fields = ["name", "latitude", "longitude", "direction", "active"]


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    form = CameraForm
    list_display = ["name", "latitude", "longitude", "direction", "active", "last_seen_at"]
    list_filter = ["active"]
    search_fields = ["name", "direction"]
    readonly_fields = ["key_prefix", "key_rotated_at", "created_at", "last_seen_at"]
    actions = ["rotate_keys", "deactivate"]

    def get_fields(self, request, obj=None):
        fields = ["name", "latitude", "longitude", "direction"]
        return fields if obj is None else [*fields, "active", *self.readonly_fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # captures refer to cameras; deactivate instead

    def save_model(self, request, obj: Camera, form, change: bool) -> None:
        if change:
            camera_update(
                camera=obj, changed=list(form.changed_data), actor=request.user, request=request
            )
            return
        data = form.cleaned_data
        try:
            created = camera_create(
                name=data["name"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                direction=data.get("direction", ""),
                actor=request.user,
                request=request,
            )
        except CameraError as exc:  # raced with another admin: shown as an error message
            messages.error(request, str(exc))
            raise
        obj.pk = created.camera.pk
        obj.__dict__.update(
            {f.attname: getattr(created.camera, f.attname) for f in obj._meta.fields}
        )
        obj._state.adding = False
        request._alpr_new_key = created.api_key

    def response_add(self, request, obj, post_url_continue=None) -> HttpResponse:
        key = getattr(request, "_alpr_new_key", None)
        if key:
            return _show_keys(request, self, [(obj, key)], "Camera created: copy its API key now")
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Rotate the API key of the selected cameras")
    def rotate_keys(self, request, queryset):
        rows = []
        for camera in queryset.order_by("name"):
            rotated = camera_rotate_key(camera=camera, actor=request.user, request=request)
            rows.append((rotated.camera, rotated.api_key))
        return _show_keys(request, self, rows, "New API keys: copy them now")

    @admin.action(description="Deactivate the selected cameras (refuse their uploads)")
    def deactivate(self, request, queryset):
        count = 0
        for camera in queryset.filter(active=True):
            camera_deactivate(camera=camera, actor=request.user, request=request)
            count += 1
        self.message_user(request, f"{count} camera(s) deactivated.", messages.SUCCESS)


# Operational fields only: plate numbers are looked up through the search pages, which ask
# for a purpose and write the access log. The admin must not be a way around that (and every
# admin gets tenants.admin_tools.NoPlatesAdminMixin, which enforces it whatever is listed here:
# no plate lookups, no history page, no str(capture) in titles).
CAPTURE_ADMIN_FIELDS = [
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
]


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
        from captures.retention import visible_captures

        return visible_captures(request.tenant).select_related("camera")


@admin.register(DataKey)
class DataKeyAdmin(ReadOnlyAdmin):
    list_display = ["day", "master_key_id", "created_at", "destroyed_at"]
    fields = ["day", "master_key_id", "created_at", "destroyed_at"]
    readonly_fields = fields
