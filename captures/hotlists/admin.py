"""Admin pages of hotlists: the lists (with an upload page for extracts) and the policy.

Entries are not in the admin (they hold plates): extracts arrive through the upload page or
``manage.py import_hotlist``, typed-in entries through the portal's hotlist pages, with a
purpose. Saving goes through the services, which log each change.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from captures.hotlists.imports import ImportRefused, hotlist_import
from captures.hotlists.models import Hotlist, HotlistPolicy
from captures.hotlists.services import hotlist_save
from tenants.people.roles import Role, has_role

MAX_IMPORT_BYTES = 200 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Extract file",
        help_text="CSV with the header plate,state,reason,reference,expires,notes, or the "
        "fixed-width NCIC layout (docs/HOTLISTS.md). It replaces every entry of the list.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB."
            )
        return upload


class _AdministratorsOnly(admin.ModelAdmin):
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
        return False  # a list is switched off (active), its hits stay countable

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        hotlist_save(hotlist=obj, adding=not change, request=request)


@admin.register(Hotlist)
class HotlistAdmin(_AdministratorsOnly):
    list_display = [
        "name",
        "kind",
        "owner",
        "alerts",
        "active",
        "entry_count",
        "imported_at",
        "import_link",
    ]
    list_filter = ["kind", "alerts", "active"]
    readonly_fields = ["imported_at", "imported_by_username"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Hotlist]:
        return super().get_queryset(request).annotate(n_entries=Count("entries"))

    @admin.display(description="entries")
    def entry_count(self, obj: Any) -> int:
        return int(getattr(obj, "n_entries", 0))

    @admin.display(description="import")
    def import_link(self, obj: Hotlist) -> str:
        if obj.kind != Hotlist.Kind.EXTRACT:
            return "—"
        url = reverse("admin:hotlists_hotlist_import", args=[obj.pk])
        return format_html('<a href="{}">Upload an extract</a>', url)

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "<int:hotlist_id>/import/",
            self.admin_site.admin_view(self.import_view),
            name="hotlists_hotlist_import",
        )
        return [upload, *super().get_urls()]

    def import_view(self, request: HttpRequest, hotlist_id: int) -> HttpResponse:
        if not self._is_admin(request):
            raise PermissionDenied
        hotlist = get_object_or_404(Hotlist, pk=hotlist_id)
        report = None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = hotlist_import(
                    agency=request.tenant,  # type: ignore[attr-defined]
                    hotlist=hotlist,
                    data=upload.read(),
                    file_name=upload.name or "",
                    actor=request.user,
                    request=request,
                )
                messages.success(request, f"Imported into {hotlist.name}: {report.summary()}.")
            except ImportRefused as exc:
                report = exc.report
                messages.error(request, f"The file was not imported: {exc}. Nothing changed.")
        elif request.method == "POST" and not form.is_valid():
            messages.error(request, "Choose a file to upload.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "hotlist": hotlist,
            "form": form,
            "report": report,
            "title": f"Import an extract into {hotlist.name}",
        }
        return TemplateResponse(request, "admin/hotlists/import.html", context)


@admin.register(HotlistPolicy)
class HotlistPolicyAdmin(_AdministratorsOnly):
    list_display = ["entry_days", "max_entry_days", "max_bad_line_percent", "flag_search_count"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request) and not HotlistPolicy.objects.exists()

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        policy = HotlistPolicy.objects.order_by("pk").first()
        if policy is None and self._is_admin(request):
            return redirect(reverse("admin:hotlists_hotlistpolicy_add"))
        return super().changelist_view(request, extra_context)
