"""The request as the portal's views see it, for type checking.

django-tenants' middleware sets ``request.tenant`` on every request; Django itself does not
know the attribute. Views of an agency host annotate ``request: AgencyRequest``.
"""

from __future__ import annotations

from django.http import HttpRequest

from tenants.models import Agency


class AgencyRequest(HttpRequest):
    tenant: Agency
