"""Access rules for agency pages: sign-in with a second factor, roles, current training.

Every agency view is wrapped by ``require_access`` (or is listed in ``PUBLIC_VIEWS``),
and the rule is attached to the view so tests can walk the URL conf and check each one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.people.roles import Role, has_role


@dataclass(frozen=True)
class AccessRule:
    roles: frozenset[Role]  # any of these; empty = any signed-in, verified user
    trained: bool  # the user's training must be current


def _training_current(user) -> bool:
    from tenants.people.training import training_is_current

    return training_is_current(user)


def require_access(*roles: Role, trained: bool = False) -> Callable:
    """Decorate a view: signed in, second factor verified, holding one of ``roles``.

    ``trained=True`` also requires current training (initial, refreshed within a year);
    a user who is not gets a page that says why and whom to ask, not the data.
    """
    rule = AccessRule(roles=frozenset(roles), trained=trained)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not user.is_verified():
                return redirect_to_login(request.get_full_path(), settings.OTP_LOGIN_URL)
            if rule.roles and not has_role(user, *rule.roles):
                raise PermissionDenied("Your role does not allow this page.")
            if rule.trained and not _training_current(user):
                return render(request, "accounts/training_required.html", status=403)
            return view(request, *args, **kwargs)

        wrapped.alpr_access = rule
        return wrapped

    return decorator


def public_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view as deliberately open to anonymous visitors (policy, sign-in, health)."""
    view.alpr_public = True
    return view
