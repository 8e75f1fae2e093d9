"""Access rules for agency pages: sign-in with a second factor, roles, current training.

Every agency view is wrapped by ``require_access`` (or is listed in ``PUBLIC_VIEWS``),
and the rule is attached to the view so tests can walk the URL conf and check each one.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase, HttpResponseForbidden
from django.shortcuts import render

from tenants.people.roles import Role, has_role


@dataclass(frozen=True)
class AccessRule:
    roles: frozenset[Role]  # any of these; empty = any signed-in, verified user
    trained: bool  # the user's training must be current


View = TypeVar("View", bound=Callable[..., HttpResponseBase])


class _RuledView(Protocol):
    """A view carrying its access rule, for the URL walk in tests/people/test_url_access.py."""

    alpr_access: AccessRule

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase: ...


class _PublicView(Protocol):
    alpr_public: bool

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase: ...


class _HealthView(Protocol):
    alpr_health: bool

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase: ...


class _MetricsView(Protocol):
    alpr_metrics: bool

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase: ...


def second_factor_verified(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` passed the second factor in this request. django-otp's middleware
    gives request users ``is_verified``; anyone else (no middleware, a user loaded from the
    database) has not."""
    check = getattr(user, "is_verified", None)
    return bool(callable(check) and check())


def _training_current(user: User) -> bool:
    from tenants.people.training import training_is_current

    return training_is_current(user)


def require_access(*roles: Role, trained: bool = False) -> Callable[[View], View]:
    """Decorate a view: signed in, second factor verified, holding one of ``roles``.

    ``trained=True`` also requires current training (initial, refreshed within a year);
    a user who is not gets a page that says why and whom to ask, not the data.
    """
    rule = AccessRule(roles=frozenset(roles), trained=trained)

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not second_factor_verified(user):
                return redirect_to_login(request.get_full_path(), settings.OTP_LOGIN_URL)
            if rule.roles and not has_role(user, *rule.roles):
                raise PermissionDenied("Your role does not allow this page.")
            if rule.trained and not _training_current(user):
                return render(request, "accounts/training_required.html", status=403)
            return view(request, *args, **kwargs)

        cast(_RuledView, wrapped).alpr_access = rule
        return cast(View, wrapped)

    return decorator


def public_view(view: View) -> View:
    """Mark a view as deliberately open to anonymous visitors (policy, sign-in, health)."""
    cast(_PublicView, view).alpr_public = True
    return view


def health_view(view: View) -> View:
    """Mark the health check: open to anyone (load balancers, monitoring), it shows no data
    and answers 503 when something is stale (the access walk expects 200 or 503)."""
    cast(_HealthView, view).alpr_health = True
    return view


def metrics_view(view: View) -> View:
    """Decorate the metrics endpoint: only addresses in ``ALPR_METRICS_ALLOW`` (networks, e.g.
    ``10.0.5.0/24``; default the loopback) or a request carrying ``Authorization: Bearer
    <ALPR_METRICS_TOKEN>`` get it; anyone else gets 403. No user, no session."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not metrics_allowed(request):
            return HttpResponseForbidden(
                "Metrics are for the monitoring network or a configured token only.",
                content_type="text/plain",
            )
        return view(request, *args, **kwargs)

    cast(_MetricsView, wrapped).alpr_metrics = True
    return cast(View, wrapped)


def metrics_allowed(request: HttpRequest) -> bool:
    token = str(getattr(settings, "ALPR_METRICS_TOKEN", "") or "")
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    if token and sent.startswith("Bearer "):
        return hmac.compare_digest(sent[len("Bearer ") :].encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    networks = getattr(settings, "ALPR_METRICS_ALLOW", ())
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)
