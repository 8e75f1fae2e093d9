"""The request as the portal's views see it, for type checking, and the agency's clock.

django-tenants' middleware sets ``request.tenant`` on every request; Django itself does not
know the attribute. Views of an agency host annotate ``request: AgencyRequest``, and those
behind ``require_access`` ``request: SignedInRequest`` (its user is a signed-in ``User``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tenants.models import Agency

_P = ParamSpec("_P")


class AgencyRequest(HttpRequest):
    tenant: Agency


AgencyView = Callable[Concatenate[AgencyRequest, _P], HttpResponse]


def in_agency_time(view: AgencyView[_P]) -> AgencyView[_P]:
    """Render (and parse form times) in the agency's time zone: what an officer types and
    reads means what the agency's clocks say."""

    @functools.wraps(view)
    def wrapped(request: AgencyRequest, /, *args: _P.args, **kwargs: _P.kwargs) -> HttpResponse:
        with timezone.override(request.tenant.tz):
            return view(request, *args, **kwargs)

    return wrapped


class SignedInRequest(AgencyRequest):
    """A request that passed ``require_access``: signed in, second factor verified."""

    user: User
