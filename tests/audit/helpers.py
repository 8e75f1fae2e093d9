"""Builders for access-log tests: search events in the shape the search helper records."""

from __future__ import annotations

import datetime
from typing import Any

from audit.models import AccessEvent, Action, Outcome
from audit.services import record_backdated_event, record_event


def search_event(
    user,
    *,
    plate: str = "ABC1234",
    outcome: str = Outcome.ALLOWED,
    reason: str = "",
    purpose_category: str = "stolen_vehicle",
    purpose_text: str = "Stolen vehicle report from the owner",
    case_number: str = "24-000123",
    at: datetime.datetime | None = None,
    **extra: Any,
) -> AccessEvent:
    kwargs: dict[str, Any] = {
        "action": Action.SEARCH,
        "actor": user,
        "outcome": outcome,
        "reason": reason,
        "purpose_category": purpose_category,
        "purpose_text": purpose_text,
        "case_number": case_number,
        "query": {
            "plate": plate,
            "state": "CA",
            "from": "2026-11-01",
            "to": "2026-11-28",
            "cameras": [1, 2],
            "include_unconfirmed": False,
            "similar": False,
        },
        "details": {"result_count": 3},
        **extra,
    }
    if at is not None:
        return record_backdated_event(occurred_at=at, **kwargs)
    return record_event(**kwargs)
