"""The one function through which every access-log entry is written: ``record_event``.

The access log is the ground floor: this module, ``audit.models`` and ``audit.chain`` import
nothing of the other apps, so every app (``tenants`` included: sign-ins, lockouts, user
changes, key rotation) calls ``record_event`` directly, in the transaction of the thing it
records. The log's upkeep (verification, checkpoints, retention) and the auditors' pages sit
above ``tenants`` in the other ``audit`` modules.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from django.http import HttpRequest

from audit import chain
from audit.context import current_request_id
from audit.models import AccessEvent, Action, Outcome


class Actor(Protocol):
    """Whoever did the thing: a user of the schema, or someone named without an id there
    (platform staff in an agency's log)."""

    @property
    def pk(self) -> Any: ...

    def get_username(self) -> str: ...


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address in one spelling, or None when there is none worth storing."""
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


def _escape_unstorable(match: re.Match[str]) -> str:
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


# Details every entry written in this context carries (e.g. a support session's grant), set by
# the caller's floor and read here: the context travels down, nothing here imports upward.
_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})
_CONTEXT_DETAILS: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "alpr_audit_context_details", default=_NO_DETAILS
)


@contextlib.contextmanager
def event_context(**details: Any) -> Iterator[None]:
    """Every entry recorded inside the block gets ``details`` added (they win over a caller's
    keys of the same name, so a block's marking cannot be left out). Blocks nest."""
    token = _CONTEXT_DETAILS.set({**_CONTEXT_DETAILS.get(), **details})
    try:
        yield
    finally:
        _CONTEXT_DETAILS.reset(token)


def context_details() -> Mapping[str, Any]:
    """The details the current ``event_context`` adds to every entry ({} outside one)."""
    return _CONTEXT_DETAILS.get()


def _clip(value: str | None, limit: int) -> str:
    text: str = storable(value or "")
    return text[:limit]


_ACTIONS = {term.value: term for term in Action}
_OUTCOMES = {term.value: term for term in Outcome}


def _in_vocabulary(*, action: str, outcome: str) -> tuple[Action, Outcome]:
    """The members named, or ValueError: typed callers pass members; this catches the rest."""
    if action not in _ACTIONS:
        raise ValueError(f"{action!r} is not an access-log action (audit.models.Action).")
    if outcome not in _OUTCOMES:
        raise ValueError(f"{outcome!r} is not an access-log outcome (audit.models.Outcome).")
    return _ACTIONS[action], _OUTCOMES[outcome]


def event_fields(
    *,
    action: Action,
    request: HttpRequest | None = None,
    actor: Actor | None = None,
    username: str | None = None,
    outcome: Outcome = Outcome.ALLOWED,
    reason: str = "",
    purpose_category: str = "",
    purpose_text: str = "",
    case_number: str = "",
    query: Mapping[str, Any] | None = None,
    objects: Iterable[tuple[str, Any]] = (),
    related_event_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of an entry (without id, time and hashes).

    ``action`` and ``outcome`` must be members of the vocabulary (``Action``, ``Outcome``): a
    value outside it raises ValueError, so no entry is written under a name nobody reads.
    """
    action, outcome = _in_vocabulary(action=action, outcome=outcome)
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    actor_id = actor.pk if actor is not None else None
    actor_username = actor.get_username() if actor is not None else (username or "")
    return {
        "action": action.value,
        "outcome": outcome.value,
        "reason": storable(reason or ""),
        "actor_id": actor_id,
        "actor_username": _clip(actor_username, 150),
        "purpose_category": _clip(purpose_category, 100),
        "purpose_text": storable(purpose_text or ""),
        "case_number": _clip(case_number, 100),
        "query": storable(dict(query or {})),
        "objects_touched": storable([{"type": str(kind), "id": str(pk)} for kind, pk in objects]),
        "related_event_id": related_event_id,
        "details": storable({**_with_request_id(details), **_CONTEXT_DETAILS.get()}),
        "client_ip": client_ip(request),
        "user_agent": _clip(request.META.get("HTTP_USER_AGENT", "") if request else "", 500),
    }


def _with_request_id(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """The details, plus the id of the request being served (``audit.context``) when there is
    one and the caller did not give its own."""
    values = dict(details or {})
    request_id = current_request_id()
    if request_id and "request_id" not in values:
        values["request_id"] = request_id
    return values


def record_event(
    *,
    action: Action,
    request: HttpRequest | None = None,
    actor: Actor | None = None,
    username: str | None = None,
    outcome: Outcome = Outcome.ALLOWED,
    reason: str = "",
    purpose_category: str = "",
    purpose_text: str = "",
    case_number: str = "",
    query: Mapping[str, Any] | None = None,
    objects: Iterable[tuple[str, Any]] = (),
    related_event_id: int | None = None,
    details: Mapping[str, Any] | None = None,
    entry_id: int | None = None,
) -> AccessEvent:
    """Append one entry to the current schema's access log.

    Call it inside the transaction of the thing it records, so both land or neither.
    ``actor`` defaults to the request's user; ``username`` is for events without a
    user object (a failed login records the username that was tried).

    The entry is hash-chained to the previous one; appends to one schema's log are
    serialized until the caller's transaction ends, so record late in long transactions.
    ``entry_id`` is an id reserved with ``audit.chain.reserve_id()`` in this transaction (two
    agencies' entries that name each other).
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
        ),
        entry_id=entry_id,
    )


def record_events(
    entries: Sequence[tuple[str, Mapping[str, Any]]], *, heads: Mapping[str, chain.Head]
) -> list[AccessEvent]:
    """Append entries to several schemas' logs at once, in one statement.

    ``entries``: (schema, ``record_event``'s arguments, without ``entry_id``) pairs; their
    ids and chain heads were drawn with ``audit.chain.draw_heads`` in this transaction, under
    the chain locks of those schemas (``audit.chain.lock_chains``), one id per entry. The
    entries are built (``event_fields``) and hashed (``chain.sealed``) exactly as
    ``record_event`` builds and hashes one; what differs is only the number of round trips.
    """
    return chain.append_drawn(
        [(schema, event_fields(**arguments)) for schema, arguments in entries], heads=heads
    )


def record_backdated_event(*, occurred_at: datetime.datetime, **kwargs: Any) -> AccessEvent:
    """Like ``record_event`` at a past instant: for demo history, tests and benchmarks only."""
    return chain.append(event_fields(**kwargs), occurred_at=occurred_at)
