"""Sign-in (password, then a second factor), enrolment, sign-out and the user's own account."""

from __future__ import annotations

import time

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from tenants.http import SignedInRequest
from tenants.people import services
from tenants.people.access import public_view, require_access, second_factor_verified
from tenants.people.forms import CodeForm, LoginForm, PasswordChangeForm
from tenants.people.roles import Role
from tenants.people.selectors import second_factor_enrolled, training_due_list
from tenants.people.training import training_due_date, training_is_current
from tenants.schemas import current_schema

PENDING = "alpr_pending"  # password passed, second factor not yet
PENDING_SECONDS = 5 * 60
BACKUP_CODES = "alpr_backup_codes"  # shown once, right after enrolment

LOCKED_MESSAGE = (
    "This account is locked after too many failed sign-in attempts. "
    "Ask your agency's administrator to unlock it."
)
BAD_CREDENTIALS = (
    "The username or password is not right. After 5 failed attempts in a row the account is locked."
)
INACTIVE_MESSAGE = "This account is deactivated. Ask your agency's administrator."
WRONG_CODE = (
    "That code is not right or has expired. Enter the current 6-digit code from your "
    "authenticator app, or one of your backup codes."
)
ENROLMENT_REPLACED_MESSAGE = (
    "This set-up was replaced by a later sign-in to your account, so its code no longer "
    "works. Sign in again to get a new code to scan, and delete the old entry from your "
    "authenticator app. If you did not start that other sign-in, tell your administrator."
)
REPLAYED_CODE = (
    "That code was already used. Wait for the next code in your authenticator app "
    "(a new one appears every 30 seconds) and enter it."
)


def _default_next(request: HttpRequest) -> str:
    if current_schema() == "public":
        return reverse("admin:index")
    return reverse("home")


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` when it is a path on this host, else the default page.

    Only paths (``/...``): ``redirect()`` would take a bare word for a URL name and fail, and a
    control character would end up in the ``Location`` header.
    """
    if (
        candidate
        and candidate.startswith("/")
        and candidate.isprintable()
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return _default_next(request)


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _pending_user(request: HttpRequest) -> User | None:
    data = request.session.get(PENDING)
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    if time.time() - float(data.get("at", 0)) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    return get_user_model().objects.filter(pk=data["uid"], is_active=True).first()


def _restart(request: HttpRequest, message: str, *, level=messages.WARNING) -> HttpResponse:
    request.session.pop(PENDING, None)
    messages.add_message(request, level, message)
    return redirect("login")


def _restart_pending(request: HttpRequest) -> HttpResponse:
    return _restart(request, "Your sign-in has expired or was not started. Sign in again.")


@public_view
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    user = request.user
    if user.is_authenticated and second_factor_verified(user):
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = services.sign_in_password(
            request=request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if result.user is not None:  # the password step passed
            request.session.cycle_key()
            request.session[PENDING] = {"uid": result.user.pk, "at": time.time()}
            target = "otp-verify" if second_factor_enrolled(result.user) else "otp-enrol"
            return redirect(_with_next(target, next_url))
        if result.locked:
            error = LOCKED_MESSAGE
        elif result.reason == "inactive account":
            error = INACTIVE_MESSAGE
        else:
            error = BAD_CREDENTIALS
    elif request.method == "POST":
        missing = not request.POST.get("username") or not request.POST.get("password")
        error = "Enter your username and password." if missing else BAD_CREDENTIALS
    # A refused form is shown again with its message (200, like Django's own forms).
    return render(request, "accounts/login.html", {"form": form, "error": error, "next": next_url})


def _code_refused(request: HttpRequest, result: services.StepResult) -> HttpResponse | str:
    """A refused code: back to the start when the account is locked, else the message."""
    if result.locked:
        return _restart(request, LOCKED_MESSAGE, level=messages.ERROR)
    if result.reason == services.ENROLMENT_REPLACED:
        return _restart(request, ENROLMENT_REPLACED_MESSAGE, level=messages.ERROR)
    return REPLAYED_CODE if result.reason == "code already used" else WRONG_CODE


@public_view
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, or a backup code."""
    user = _pending_user(request)
    if user is None:
        return _restart_pending(request)
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if not second_factor_enrolled(user):
        return redirect(_with_next("otp-enrol", next_url))
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = services.sign_in_code(request=request, user=user, code=form.cleaned_data["code"])
        if result.passed:
            request.session.pop(PENDING, None)
            if isinstance(result.device, StaticDevice):
                left = result.device.token_set.count()
                messages.warning(
                    request,
                    f"You signed in with a backup code; {left} left. "
                    "Make new ones on your account page if you are running out.",
                )
            return redirect(next_url)
        refused = _code_refused(request, result)
        if isinstance(refused, HttpResponse):
            return refused
        error = refused
    elif request.method == "POST":
        error = "Enter the 6-digit code from your authenticator app."
    return render(
        request,
        "accounts/verify.html",
        {"form": form, "error": error, "next": next_url, "pending_user": user},
    )


@public_view
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def enrol_view(request: HttpRequest) -> HttpResponse:
    """First sign-in: set up an authenticator app, confirm it with a first code."""
    user = _pending_user(request)
    if user is None:
        return _restart_pending(request)
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if second_factor_enrolled(user):
        return redirect(_with_next("otp-verify", next_url))
    pending = request.session[PENDING]
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = services.sign_in_enrol(
            request=request,
            user=user,
            device_id=pending.get("device"),
            code=form.cleaned_data["code"],
        )
        if result.passed:
            request.session.pop(PENDING, None)
            request.session[BACKUP_CODES] = list(result.backup_codes)
            return redirect(_with_next("backup-codes", next_url))
        refused = _code_refused(request, result)
        if isinstance(refused, HttpResponse):
            return refused
        error = refused
    elif request.method == "POST":
        error = "Enter the 6-digit code your authenticator app shows for this account."
    # This sign-in's own device: made on its first visit, shown to no other sign-in.
    device = services.totp_enrolment_start(user=user, device_id=pending.get("device"))
    if pending.get("device") != device.pk:
        request.session[PENDING] = {**pending, "device": device.pk}
    secret = device.secret_base32
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "error": error,
            "next": next_url,
            "pending_user": user,
            "secret": secret,
            "secret_grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "qr_data_uri": qr.svg_data_uri(scale=5, border=2),
            "issuer": settings.OTP_TOTP_ISSUER,
        },
    )


@require_access()
@never_cache
@require_http_methods(["GET"])
def backup_codes_view(request: SignedInRequest) -> HttpResponse:
    """The backup codes, shown once right after they are made."""
    codes = request.session.pop(BACKUP_CODES, None)
    next_url = safe_next(request, request.GET.get("next"))
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": next_url})


@public_view
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.logout_complete(request=request)
    messages.info(request, "You are signed out.")
    return redirect("login")


@require_access()
@never_cache
@require_http_methods(["GET"])
def account_view(request: SignedInRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/account.html",
        {
            "training_current": training_is_current(user),
            "training_due": training_due_date(user),
            "training_records": user.training_records.all()[:10],
            "backup_codes_left": StaticToken.objects.filter(device__user=user).count(),
        },
    )


@require_access()
@require_POST
def backup_codes_regenerate_view(request: SignedInRequest) -> HttpResponse:
    request.session[BACKUP_CODES] = services.backup_codes_regenerate(
        user=request.user, request=request
    )
    return HttpResponseRedirect(_with_next("backup-codes", reverse("account")))


@require_access()
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def password_change_view(request: SignedInRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_password_set(
                user=request.user,
                password=form.cleaned_data["new_password1"],
                actor=request.user,
                request=request,
            )
        except services.PeopleError as exc:
            form.add_error("new_password1", str(exc))
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, "Your password is changed.")
            return redirect("account")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form},
    )


@require_access(Role.ADMINISTRATOR)
@require_http_methods(["GET"])
def training_due_view(request: SignedInRequest) -> HttpResponse:
    """Administrators: who lacks current training or is due for the refresher within 30 days."""
    return render(request, "accounts/training_due.html", {"rows": training_due_list()})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token: say what to do, not a bare 403."""
    return render(request, "accounts/csrf_failure.html", status=403)
