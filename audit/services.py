"""The one function through which every access-log entry is written, and the log's upkeep."""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest

from audit import chain
from audit.chain import VerifyResult
from audit.models import AccessEvent, Action, Outcome


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    value = request.META.get("REMOTE_ADDR") or None
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


# What PostgreSQL cannot store in text or jsonb: NUL, and surrogates without a partner
# (a Python str holds a pair as one code point, so any surrogate here is a lone one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _escape_unstorable(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def storable(value: Any) -> Any:
    """``value`` with NUL and lone surrogates written as visible escapes (``\\x00``).

    What a person typed is logged even when it is refused (a search with a NUL in its purpose
    is a refused search), so the log must store it; the escape shows what was there.
    Goes into dicts and lists (the JSON columns), keys included.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub(_escape_unstorable, value)
    if isinstance(value, Mapping):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


def _clip(value: str | None, limit: int) -> str:
    return storable(value or "")[:limit]


def event_fields(
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
) -> dict[str, Any]:
    """The column values of an entry (without id, time and hashes)."""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    actor_id = actor.pk if actor is not None else None
    actor_username = actor.get_username() if actor is not None else (username or "")
    return {
        "action": str(action),
        "outcome": str(outcome),
        "reason": storable(reason or ""),
        "actor_id": actor_id,
        "actor_username": _clip(actor_username, 150),
        "purpose_category": _clip(purpose_category, 100),
        "purpose_text": storable(purpose_text or ""),
        "case_number": _clip(case_number, 100),
        "query": storable(dict(query or {})),
        "objects_touched": storable([{"type": str(kind), "id": str(pk)} for kind, pk in objects]),
        "related_event_id": related_event_id,
        "details": storable(dict(details or {})),
        "client_ip": client_ip(request),
        "user_agent": _clip(request.META.get("HTTP_USER_AGENT", "") if request else "", 500),
    }


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

    The entry is hash-chained to the previous one; appends to one schema's log are
    serialized until the caller's transaction ends, so record late in long transactions.
    """
    return chain.append(
        event_fields(
            action=action,
            request=request,
            actor=actor,
            username=username,
            outcome=outcome,
            reason=reason,
            purpose_category=purpose_category,
            purpose_text=purpose_text,
            case_number=case_number,
            query=query,
            objects=objects,
            related_event_id=related_event_id,
            details=details,
        )
    )


def record_backdated_event(*, occurred_at: datetime.datetime, **kwargs: Any) -> AccessEvent:
    """Like ``record_event`` at a past instant: for demo history, tests and benchmarks only."""
    return chain.append(event_fields(**kwargs), occurred_at=occurred_at)


def verify_and_record(*, request: HttpRequest | None = None) -> VerifyResult:
    """Verify this schema's chain against its checkpoints and append the outcome to it as
    ``audit_verified``.

    The walk takes no lock (one read-only snapshot): appends go on meanwhile. The entry is
    appended after the walk's snapshot has ended, so it links to the real head.
    """
    from audit.checkpoint import verify_log

    result = verify_log()
    where = connection.schema_name
    record_event(
        action=Action.AUDIT_VERIFIED,
        request=request,
        outcome=Outcome.ALLOWED if result.ok else Outcome.FAILED,
        reason=result.describe(where),
        objects=[("access_event", result.broken_id)] if result.broken_id else [],
        details=result.as_details(),
    )
    return result


def log_policy_set(*, retention_days: int, request: HttpRequest | None = None, actor: Any = None):
    """Set this agency's access-log retention (at least a year) and log the change."""
    from django.core.exceptions import ValidationError

    from audit.models import MIN_LOG_RETENTION_DAYS, LogPolicy

    if retention_days < MIN_LOG_RETENTION_DAYS:
        raise ValidationError(
            f"The access log must be kept at least {MIN_LOG_RETENTION_DAYS} days."
        )
    with transaction.atomic():
        policy = LogPolicy.objects.select_for_update().order_by("id").first()
        previous = policy.retention_days if policy else None
        if policy is None:
            policy = LogPolicy(retention_days=retention_days)
        policy.retention_days = retention_days
        policy.save()
        record_event(
            action=Action.SETTINGS_CHANGED,
            request=request,
            actor=actor,
            reason="Access-log retention changed.",
            objects=[("log_policy", policy.pk)],
            details={"access_log_retention_days": [previous, retention_days]},
        )
    return policy
