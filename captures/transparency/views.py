"""The pages anyone can read without signing in: the agency's policy and transparency figures."""

from __future__ import annotations

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from captures.transparency.selectors import published_checkpoint, transparency_figures
from tenants.people.access import public_view
from tenants.policy import policy_html
from tenants.sharing.laws import profile_of
from tenants.sharing.selectors import shared_with


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
            "law_profile": profile_of(agency),
            "shared_with": shared_with(owner=agency),
        },
    )


@public_view
@require_GET
def transparency(request: HttpRequest) -> HttpResponse:
    agency = _agency(request)
    return render(
        request, "public/transparency.html", {"figures": transparency_figures(agency=agency)}
    )


@public_view
@require_GET
def transparency_checkpoint(request: HttpRequest) -> HttpResponse:
    """The latest signed checkpoint of the agency's access log, for anyone to keep a copy."""
    agency = _agency(request)
    published = published_checkpoint()
    if published is None:
        return JsonResponse(
            {"detail": "No checkpoint key is configured for this portal yet; try again later."},
            status=503,
        )
    return JsonResponse(
        {"agency": agency.slug, "schema": agency.schema_name, **published.as_json()},
        json_dumps_params={"indent": 2},
    )
