"""Server-side session limits: 30 minutes idle, 12 hours from sign-in (settings)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from tenants.people.services import SESSION_AUTH_AT, SESSION_SEEN_AT, logout_complete

# Write the "last seen" time at most this often, to spare a session write per request.
SEEN_WRITE_INTERVAL = 30


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
        request.user.is_verified = lambda: False
        messages.info(request, f"You were signed out {when}. Sign in again to continue.")
