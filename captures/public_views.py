"""The pages anyone can read without signing in: the agency's policy and transparency figures."""

from __future__ import annotations

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from captures.transparency import transparency_figures
from tenants.people.access import public_view
from tenants.policy import policy_html


def _agency(request: HttpRequest):
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        raise Http404("This page belongs to an agency's host.")
    return tenant


@public_view
@require_GET
def policy(request: HttpRequest) -> HttpResponse:
    agency = _agency(request)
    return render(
        request,
        "public/policy.html",
        {
            "policy_html": policy_html(agency),
            "updated_at": agency.policy_updated_at or agency.created_at,
            "is_default": not agency.policy_text.strip(),
        },
    )


@public_view
@require_GET
def transparency(request: HttpRequest) -> HttpResponse:
    agency = _agency(request)
    return render(
        request, "public/transparency.html", {"figures": transparency_figures(agency=agency)}
    )
