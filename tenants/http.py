"""The request as the portal's views see it, for type checking.

django-tenants' middleware sets ``request.tenant`` on every request; Django itself does not
know the attribute. Views of an agency host annotate ``request: AgencyRequest``, and those
behind ``require_access`` ``request: SignedInRequest`` (its user is a signed-in ``User``).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest

from tenants.models import Agency


class AgencyRequest(HttpRequest):
    tenant: Agency


class SignedInRequest(AgencyRequest):
    """A request that passed ``require_access``: signed in, second factor verified."""

    user: User
