"""Agency admin of the ingest side: cameras (create, rotate key, deactivate: all through
services) and the refused camera keys, counted per hour, address, key prefix and reason
(read-only; rows are written by ``captures.ingest.limits`` only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from captures.ingest.services import (
    CameraError,
    camera_create,
    camera_deactivate,
    camera_rotate_key,
    camera_update,
)
from captures.models import Camera, CameraAuthFailure
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


FAILURE_COLUMNS = (
    "window_start",
    "client_ip",
    "key_prefix",
    "camera",
    "reason",
    "attempts",
    "first_at",
    "last_at",
)


@admin.register(CameraAuthFailure)
class CameraAuthFailureAdmin(ReadOnlyAdmin):
    list_display = FAILURE_COLUMNS
    list_filter = ["reason", "window_start"]
    search_fields = ["client_ip", "key_prefix", "camera__name"]
    list_select_related = ["camera"]
    paginator = CappedPaginator
    show_full_result_count = False
    fields = FAILURE_COLUMNS
