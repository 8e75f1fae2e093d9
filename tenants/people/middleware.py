"""Server-side session limits (30 minutes idle, 12 hours from sign-in) and the refusal of
requests carrying characters the database cannot store."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from tenants.people.services import SESSION_AUTH_AT, SESSION_SEEN_AT, logout_complete

logger = logging.getLogger(__name__)

# Write the "last seen" time at most this often, to spare a session write per request.
SEEN_WRITE_INTERVAL = 30


class SignedOutUser(AnonymousUser):
    """The rest of a request whose session just ended: anonymous, and (like django-otp's
    request users) able to say it has no second factor."""

    def is_verified(self) -> bool:
        return False


class SessionPolicyMiddleware:
    """Ends a signed-in session that was idle too long or is older than its absolute lifetime.

    Goes after the auth, OTP and messages middleware. The check is made on the server on every
    request, whatever the cookie's own expiry says.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._enforce(request)
        return self.get_response(request)

    def _enforce(self, request: HttpRequest) -> None:
        session = request.session
        now = time.time()
        auth_at = session.get(SESSION_AUTH_AT)
        seen_at = session.get(SESSION_SEEN_AT)
        if not isinstance(auth_at, int | float) or not isinstance(seen_at, int | float):
            # A session started without the sign-in pages (e.g. tests): start the clocks now.
            session[SESSION_AUTH_AT] = now
            session[SESSION_SEEN_AT] = now
            return
        idle = settings.SESSION_IDLE_SECONDS
        absolute = settings.SESSION_ABSOLUTE_SECONDS
        if now - seen_at > idle:
            self._end(request, "idle timeout", f"after {idle // 60} minutes without activity")
        elif now - auth_at > absolute:
            self._end(request, "session lifetime reached", f"after {absolute // 3600} hours")
        elif now - seen_at >= SEEN_WRITE_INTERVAL:
            session[SESSION_SEEN_AT] = now

    def _end(self, request: HttpRequest, reason: str, when: str) -> None:
        logout_complete(request=request, reason=reason)
        request.user = SignedOutUser()
        messages.info(request, f"You were signed out {when}. Sign in again to continue.")


NUL = "\x00"
NUL_MESSAGE = (
    "The {where} of this request contains a NUL character (a zero byte), which this site "
    "cannot accept. Remove it and try again."
)


def _nul_in_request(request: HttpRequest) -> str | None:
    """Where the request carries a NUL outside its body: "address", "query" or a header name."""
    if NUL in request.path or NUL in request.path_info:
        return "address"
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            return "query"
    # Cookies are read decoded: a quoted value may spell a NUL as an octal escape (\\000).
    if any(NUL in name or NUL in value for name, value in request.COOKIES.items()):
        return "Cookie header"
    for key, value in request.META.items():
        if isinstance(value, str) and NUL in value and (key.startswith("HTTP_") or key in _BARE):
            return key.removeprefix("HTTP_").replace("_", "-").title() + " header"
    return None


_BARE = {"CONTENT_TYPE", "CONTENT_LENGTH"}  # headers WSGI names without the HTTP_ prefix


class RefuseNulMiddleware:
    """A request whose address, query string or headers hold a NUL is answered 400.

    PostgreSQL cannot store NUL in text, and these parts reach queries and the access log
    without a form to refuse them: admin list filters, names in the path, the session cookie,
    the User-Agent written to the log. Bodies are left to the forms (every CharField refuses
    NUL with a form error, so a refused search is still logged, with the NUL escaped) and to
    the camera API (which checks its fields after its size limits). Goes right after the
    tenant and security middleware, before anything reads a cookie or the path.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in_request(request)
        if where is None:
            return self.get_response(request)
        logger.warning("Refused a request with a NUL in its %s: %r", where, request.path)
        message = NUL_MESSAGE.format(where=where)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": message, "field": None}, status=400)
        return render(request, "accounts/bad_request.html", {"message": message}, status=400)
