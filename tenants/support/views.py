"""Support access pages: the agency's grants (Administrators grant and revoke, Auditors read),
the support sign-in on the agency's host, the support session's own page, and the platform
staff's list of grants naming them (platform host)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.http import AgencyRequest, SignedInRequest, in_agency_time
from tenants.people.access import public_view, require_access
from tenants.people.roles import Role, has_role
from tenants.schemas import PUBLIC_SCHEMA, current_schema
from tenants.support import selectors, services
from tenants.support.forms import GrantForm, RevokeForm, SupportSignInForm

READERS = (Role.ADMINISTRATOR, Role.AUDITOR)
SIGN_IN_REFUSED = (
    "Support sign-in refused: the username, password or code is not right, or this agency has "
    "not granted you support access that is active now. After 5 failed attempts in a row your "
    "platform account is locked."
)
LOCKED = (
    "Your platform account is locked after too many failed attempts; ask a platform administrator."
)


@require_access(*READERS)
@require_GET
@in_agency_time
def grants(request: AgencyRequest) -> HttpResponse:
    return render(
        request,
        "support/grants.html",
        {
            "grants": selectors.grants_list()[:200],
            "now": timezone.now(),
            "may_grant": has_role(request.user, Role.ADMINISTRATOR),
        },
    )


@require_access(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def grant_new(request: SignedInRequest) -> HttpResponse:
    form = GrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grant = services.grant_create(
                actor=request.user,
                platform_username=data["platform_username"],
                scope=data["scope"],
                reason=data["reason"],
                hours=data["hours"],
                training_completed_on=data["training_completed_on"],
                request=request,
            )
        except services.SupportError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Support access granted to {grant.platform_username} until "
                f"{timezone.localtime(grant.expires_at):%Y-%m-%d %H:%M}. They sign in at "
                f"{request.build_absolute_uri(reverse('support:sign-in'))}.",
            )
            return redirect("support:grant", grant_id=grant.pk)
    return render(request, "support/grant_new.html", {"form": form})


@require_access(*READERS)
@require_GET
def grant_detail(request: SignedInRequest, grant_id: int) -> HttpResponse:
    grant = selectors.grant_get(grant_id)
    after = request.GET.get("after", "0")
    entries = selectors.entries_under(grant, after=int(after) if after.isdigit() else 0)
    more = len(entries) == selectors.PAGE_SIZE
    with timezone.override(request.tenant.tz):
        return render(
            request,
            "support/grant_detail.html",
            {
                "grant": grant,
                "status": grant.status(),
                "entries": entries,
                "entries_total": selectors.entries_under_count(grant),
                "next_after": entries[-1].id if more else None,
                "history": selectors.entries_about(grant),
                "may_revoke": has_role(request.user, Role.ADMINISTRATOR) and grant.is_active(),
                "revoke_form": RevokeForm(),
            },
        )


@require_access(Role.ADMINISTRATOR)
@require_POST
def grant_revoke(request: SignedInRequest, grant_id: int) -> HttpResponse:
    grant = selectors.grant_get(grant_id)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("support:grant", grant_id=grant.pk)
    try:
        ended = services.grant_revoke(
            grant=grant, actor=request.user, reason=form.cleaned_data["reason"], request=request
        )
    except services.SupportError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Support grant #{grant.pk} revoked; {ended} open session(s) ended."
        )
    return redirect("support:grant", grant_id=grant.pk)


@public_view
@sensitive_post_parameters("password", "code")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: AgencyRequest) -> HttpResponse:
    """Platform staff sign in here under a grant: platform password and platform code."""
    if current_schema() == PUBLIC_SCHEMA:
        raise PermissionDenied("Support sign-in is on an agency's host.")
    form = SupportSignInForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result = services.support_sign_in(
            request=request,
            agency=request.tenant,
            username=data["username"],
            password=data["password"],
            code=data["code"],
        )
        if result.grant is not None:
            return redirect("support:session")
        error = LOCKED if result.locked else SIGN_IN_REFUSED
    elif request.method == "POST":
        error = "Enter your platform username, password and the code from your authenticator."
    return render(request, "support/sign_in.html", {"form": form, "error": error})


@require_access()
@require_GET
def session(request: SignedInRequest) -> HttpResponse:
    """A support session's own page: under which grant, what it reaches, until when."""
    grant = getattr(request, "alpr_support_grant", None)
    with timezone.override(request.tenant.tz):
        return render(request, "support/session.html", {"grant": grant})


@require_access()
@require_GET
def platform_grants(request: SignedInRequest) -> HttpResponse:
    """Platform host: the grants agencies gave the signed-in staff member (read only)."""
    if current_schema() != PUBLIC_SCHEMA or not request.user.is_staff:
        raise PermissionDenied("Only platform staff see the support grants naming them.")
    return render(
        request,
        "support/platform_grants.html",
        {"rows": selectors.grants_naming(request.user), "now": timezone.now()},
    )
