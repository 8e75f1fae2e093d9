"""The one function through which every access-log entry is written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpRequest

from audit.models import AccessEvent, Action, Outcome


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_event(
    *,
    action: Action | str,
    request: HttpRequest | None = None,
    actor: Any = None,
    username: str | None = None,
    outcome: Outcome | str = Outcome.ALLOWED,
    reason: str = "",
    purpose_category: str = "",
    purpose_text: str = "",
    case_number: str = "",
    query: Mapping[str, Any] | None = None,
    objects: Iterable[tuple[str, Any]] = (),
    related_event_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> AccessEvent:
    """Append one entry to the current schema's access log.

    Call it inside the transaction of the thing it records, so both land or neither.
    ``actor`` defaults to the request's user; ``username`` is for events without a
    user object (a failed login records the username that was tried).
    """
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    actor_id = actor.pk if actor is not None else None
    actor_username = actor.get_username() if actor is not None else (username or "")
    return AccessEvent.objects.create(
        action=str(action),
        outcome=str(outcome),
        reason=reason,
        actor_id=actor_id,
        actor_username=actor_username[:150],
        purpose_category=purpose_category,
        purpose_text=purpose_text,
        case_number=case_number,
        query=dict(query or {}),
        objects_touched=[{"type": kind, "id": str(pk)} for kind, pk in objects],
        related_event_id=related_event_id,
        details=dict(details or {}),
        client_ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:500] if request is not None else ""),
    )
