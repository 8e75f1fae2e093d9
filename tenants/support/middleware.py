"""Support sessions on an agency's host: checked on every request, kept to the grant's scope,
and every entry written during them marked with the grant (``audit.services.event_context``).

Goes after the auth and OTP middleware and before the session-policy middleware, so that an
idle support session's sign-out is marked with its grant too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.services import event_context
from tenants.people.middleware import SignedOutUser
from tenants.schemas import PUBLIC_SCHEMA, current_schema
from tenants.support import services
from tenants.support.models import Scope, SupportGrant
from tenants.support.scope import SETTINGS_ADMIN_MODELS, scope_allows, view_is_public

REFUSED = "_alpr_support_refused"


class SupportSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if current_schema() == PUBLIC_SCHEMA or user is None or not user.is_authenticated:
            return self.get_response(request)
        try:
            grant = services.session_grant(request)
        except services.SupportSessionEnded as ended:
            # Revoked, expired, or a support account outside support sign-in: signed out now,
            # and the request goes on as anonymous (the page sends it to the sign-in).
            services.support_session_end(request=request, ended=ended)
            request.user = SignedOutUser()
            return self.get_response(request)
        if grant is None:
            return self.get_response(request)
        return self._under_grant(request, grant)

    def _under_grant(self, request: HttpRequest, grant: SupportGrant) -> HttpResponse:
        request.alpr_support_grant = grant  # type: ignore[attr-defined]
        # The admin index lists only what the scope reaches (PortalAdminSite.get_app_list).
        request.alpr_admin_models = (  # type: ignore[attr-defined]
            SETTINGS_ADMIN_MODELS if grant.scope == Scope.SETTINGS else frozenset()
        )
        with event_context(**services.support_details(grant)):
            response = self.get_response(request)
            services.support_request_record(
                request=request,
                grant=grant,
                status=response.status_code,
                refused=bool(getattr(request, REFUSED, False)),
            )
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        grant: SupportGrant | None = getattr(request, "alpr_support_grant", None)
        if grant is None or view_is_public(view_func) or not request.user.is_authenticated:
            return None  # (signed out by the session policy: the page sends it to sign in)
        match = request.resolver_match
        name = match.view_name if match is not None else ""
        if scope_allows(grant.scope, name, request.method or "GET"):
            return None
        setattr(request, REFUSED, True)
        return render(
            request,
            "support/out_of_scope.html",
            {"grant": grant, "scope_label": grant.get_scope_display()},
            status=403,
        )
