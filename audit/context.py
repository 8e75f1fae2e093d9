"""The request a piece of work belongs to: its id, for the logs and the access log.

Part of the access log's core (Django only): ``RequestIdMiddleware`` (first in the middleware
list) takes the proxy's ``X-Request-ID`` when it is a sane token, else makes one, keeps it in a
context variable for the request's duration and answers it as ``X-Request-ID``;
``record_event`` adds it to the entry's details (``request_id``), and ``RequestIdFilter`` puts it
on every log record, so an access-log entry, the application's log lines and gunicorn's access
line of one request share one id.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("alpr_request_id", default="")
_SANE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
HEADER = "X-Request-ID"


def current_request_id() -> str:
    """The id of the request being served in this thread, or ``""`` outside a request."""
    return _request_id.get()


def new_request_id(proposed: str | None = None) -> str:
    """The proxy's id when it is a plain token of 8 to 64 characters, else a new one."""
    if proposed and _SANE.match(proposed):
        return proposed
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``""`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True
