"""The admin site: second factor required; agency Administrators (or platform staff) only."""

from __future__ import annotations

import functools
from typing import Any

from django.apps import apps
from django.contrib.admin import ModelAdmin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import SimpleTemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from django_otp.admin import OTPAdminSite

from tenants.admin_tools import with_no_plates
from tenants.people.access import second_factor_verified
from tenants.people.roles import Role, has_role
from tenants.people.services import logout_complete
from tenants.people.views import safe_next
from tenants.plate_fields import is_plate_model
from tenants.schemas import current_schema


def may_use_admin(user) -> bool:
    """Verified second factor and: an Administrator of this agency, or platform staff in public."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not second_factor_verified(user):
        return False
    if current_schema() == "public":
        return user.is_staff
    return has_role(user, Role.ADMINISTRATOR)


class PortalAdminSite(OTPAdminSite):
    site_header = "ALPR Portal administration"
    site_title = "ALPR Portal"
    index_title = "Administration"

    def __init__(self, name: str = "admin"):
        super().__init__(name)

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request.user)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        """Every admin page in the agency's time zone: its lists, forms and history show (and
        read) times as the agency's clocks do, as the portal's pages do."""
        inner = super().admin_view(view, cacheable)

        @functools.wraps(inner)
        def in_agency_zone(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            tz = getattr(getattr(request, "tenant", None), "tz", None)
            if tz is None:
                return inner(request, *args, **kwargs)
            with timezone.override(tz):
                response = inner(request, *args, **kwargs)
                # Admin pages are TemplateResponses, rendered after the view returns: render
                # them here, inside the zone.
                if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                    response.render()
                return response

        return in_agency_zone

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["admin_time_zone"] = timezone.get_current_timezone_name()
        return context

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        """Every ModelAdmin, ours or a third party's, gets the no-plates rules (admin_tools)."""
        super().register(model_or_iterable, with_no_plates(admin_class or ModelAdmin), **options)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list:
        """The index's models; a session limited to some (a support session: the middleware
        sets ``alpr_admin_models``, pairs of app label and model name) lists only those."""
        apps_shown = super().get_app_list(request, app_label)
        limit = getattr(request, "alpr_admin_models", None)
        if limit is None:
            return apps_shown
        for app in apps_shown:
            app["models"] = [
                m for m in app["models"] if (app["app_label"], m["object_name"].lower()) in limit
            ]
        return [app for app in apps_shown if app["models"]]

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        # Autocomplete answers with str() of the rows found: never for plate models.
        try:
            source = apps.get_model(request.GET["app_label"], request.GET["model_name"])
            remote = source._meta.get_field(request.GET["field_name"]).remote_field.model
        except (KeyError, LookupError, FieldDoesNotExist, AttributeError):
            raise PermissionDenied from None  # what Django answers to a malformed request
        if is_plate_model(remote):
            raise PermissionDenied
        return super().autocomplete_view(request)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Sign-in goes through the portal's own pages (password, then second factor)."""
        user = request.user
        if user.is_authenticated and second_factor_verified(user):
            if self.has_permission(request):
                return redirect(safe_next(request, request.GET.get("next")))
            return render(request, "accounts/admin_refused.html", status=403)
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")

    def logout(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return _admin_logout(request)

    def password_change(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        # One place to change one's password, which validates and records it.
        return redirect("password-change")


@require_POST
def _admin_logout(request: HttpRequest) -> HttpResponse:
    logout_complete(request=request)
    return redirect("login")
