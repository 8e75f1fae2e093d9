"""Entries typed in by people: added, changed and removed with a purpose, each logged.

An entry typed in is a plate the agency will be alerted to wherever its cameras see it, so it is
gated like a search (``captures.search.selectors.purpose_problems``: a purpose from the
agency's list, no vague details, no prohibited terms), and more strictly: a case number and a
description are always required. A refusal is logged with its reasons. Entries live
``HotlistPolicy.entry_days`` by default and never longer than its ``max_entry_days``; the
lookup stops matching them when they expire, the nightly purge removes them.

Each entry's log line carries the plate in ``query`` (``{"plate": ..., "state": ...}``), so the
auditors' plate filter finds it, and a plate entered again after an earlier entry of it expired
is marked (``reentered_after_expiry``, a flag in the reports).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessEvent, Action, Outcome
from audit.services import record_event
from captures.hotlists.models import Hotlist, HotlistEntry, HotlistPolicy, Reason
from captures.models import AuthorizedPurpose
from captures.reading.matching import match_key, normalize_plate
from captures.search.query import US_STATES
from captures.search.selectors import is_vague, purpose_problems
from tenants.models import Agency

PLATE_MAX = 10
NOTES_MAX = 2000


class EntryRefused(ValueError):
    """The entry cannot be stored; the refusal is logged and the message says why."""

    def __init__(self, problems: Sequence[str], event: AccessEvent):
        super().__init__(" ".join(problems))
        self.problems = list(problems)
        self.event = event


@dataclass(frozen=True)
class EntryData:
    plate: str
    state: str
    reason: str
    reference: str = ""
    notes: str = ""
    days: int | None = None  # None: the policy's default


def _entry_problems(*, hotlist: Hotlist, data: EntryData, policy: HotlistPolicy) -> list[str]:
    problems = []
    if hotlist.kind != Hotlist.Kind.AGENCY:
        problems.append(
            f"“{hotlist.name}” is an imported extract: its entries come from the file only."
        )
    plate = normalize_plate(data.plate)
    if not plate:
        problems.append("Type the plate (letters and digits).")
    elif len(plate) > PLATE_MAX:
        problems.append(f"A plate has at most {PLATE_MAX} letters and digits.")
    if data.state and data.state not in US_STATES:
        problems.append(f"“{data.state[:4]}” is not a US state code (e.g. CA, NY, DC).")
    if data.reason not in Reason.values:
        problems.append("Choose the reason from the list.")
    if len(data.reference) > 40:
        problems.append("The reference has at most 40 characters.")
    if data.days is not None and not 1 <= data.days <= policy.max_entry_days:
        problems.append(
            f"An entry lives 1 to {policy.max_entry_days} days under your agency's policy."
        )
    return problems


def _purpose_checks(
    *, agency: Agency, purpose: AuthorizedPurpose | None, purpose_text: str, case_number: str
) -> list[str]:
    problems = purpose_problems(
        agency=agency,
        purpose=purpose,
        purpose_text=purpose_text,
        case_number=case_number,
        activity="hotlist",
    )
    if (not case_number or is_vague(case_number)) and not any("case" in p for p in problems):
        problems.append("Every hotlist entry needs the case or incident number it is for.")
    if not purpose_text:
        problems.append(
            "Describe why this plate is wanted (what happened, what officers should know)."
        )
    return problems


def _reentered(plate: str, now: datetime.datetime) -> bool:
    """An earlier entry of ``plate`` typed in here has expired (from the access log)."""
    earlier = AccessEvent.objects.filter(
        action=Action.HOTLIST_ENTRY_ADDED,
        outcome=Outcome.ALLOWED,
        query__contains={"plate": plate},
    ).values_list("details", flat=True)
    for details in earlier.iterator():
        expires = (details or {}).get("expires_at")
        if expires and datetime.datetime.fromisoformat(expires) <= now:
            return True
    return False


def entry_add(
    *,
    agency: Agency,
    request: HttpRequest,
    hotlist: Hotlist,
    data: EntryData,
    purpose: AuthorizedPurpose | None,
    purpose_text: str,
    case_number: str,
    form_problems: Sequence[str] = (),
    now: datetime.datetime | None = None,
) -> HotlistEntry:
    """Check and store one typed-in entry, and log it (allowed or refused).

    Raises :class:`EntryRefused` after logging the refusal; nothing is stored then.
    """
    now = now or timezone.now()
    purpose_text = purpose_text.replace("\x00", "").strip()[:1000]
    case_number = case_number.replace("\x00", "").strip()[:100]
    policy = HotlistPolicy.current()
    plate = normalize_plate(data.plate)[:16]
    state = data.state.strip().upper()[:2]
    problems = [
        *form_problems,
        *_entry_problems(hotlist=hotlist, data=data, policy=policy),
        *_purpose_checks(
            agency=agency, purpose=purpose, purpose_text=purpose_text, case_number=case_number
        ),
    ]
    log: dict[str, Any] = {
        "action": Action.HOTLIST_ENTRY_ADDED,
        "request": request,
        "purpose_category": purpose.name if purpose else "",
        "purpose_text": purpose_text,
        "case_number": case_number,
        "query": {"plate": plate, "state": state},
    }
    with transaction.atomic():
        if problems:
            event = record_event(
                **log,
                outcome=Outcome.REFUSED,
                reason=" ".join(problems),
                objects=[("hotlist", hotlist.pk)],
                details={"hotlist": hotlist.name, "reason_code": data.reason[:20]},
            )
        else:
            days = data.days or policy.entry_days
            entry = HotlistEntry.objects.create(
                hotlist=hotlist,
                plate=plate,
                match_key=match_key(plate),
                state=state,
                reason=data.reason,
                reference=data.reference.strip(),
                notes=data.notes.strip()[:NOTES_MAX],
                purpose_category=purpose.name if purpose else "",
                purpose_text=purpose_text,
                case_number=case_number,
                entered_by_id=request.user.pk,
                entered_by_username=request.user.get_username(),
                entered_at=now,
                expires_at=now + datetime.timedelta(days=days),
                reentered_after_expiry=_reentered(plate, now),
            )
            record_event(
                **log,
                objects=[("hotlist", hotlist.pk), ("hotlist_entry", entry.pk)],
                details=_entry_details(entry),
            )
            return entry
    raise EntryRefused(problems, event)


def _entry_details(entry: HotlistEntry) -> dict[str, Any]:
    return {
        "hotlist": entry.hotlist.name,
        "plate": entry.plate,
        "state": entry.state,
        "reason_code": entry.reason,
        "reference": entry.reference,
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
        "reentered_after_expiry": entry.reentered_after_expiry,
    }


def _entry_log(entry: HotlistEntry, action: Action, request: HttpRequest, **extra: Any) -> None:
    record_event(
        action=action,
        request=request,
        purpose_category=entry.purpose_category,
        purpose_text=entry.purpose_text,
        case_number=entry.case_number,
        query={"plate": entry.plate, "state": entry.state},
        objects=[("hotlist", entry.hotlist_id), ("hotlist_entry", entry.pk)],
        details={**_entry_details(entry), **extra},
    )


def entry_change(
    *,
    request: HttpRequest,
    entry: HotlistEntry,
    reference: str,
    notes: str,
    days: int | None,
    now: datetime.datetime | None = None,
) -> HotlistEntry:
    """Change an entry's reference, notes or lifetime (``days`` from now), and log it.

    The plate, state, reason and purpose stay: a different plate is a new entry.
    """
    now = now or timezone.now()
    policy = HotlistPolicy.current()
    if days is not None and not 1 <= days <= policy.max_entry_days:
        raise ValueError(
            f"An entry lives 1 to {policy.max_entry_days} days under your agency's policy."
        )
    if len(reference.strip()) > 40:
        raise ValueError("The reference has at most 40 characters.")
    with transaction.atomic():
        locked = HotlistEntry.objects.select_for_update().select_related("hotlist").get(pk=entry.pk)
        before = _entry_details(locked)
        locked.reference = reference.strip()
        locked.notes = notes.strip()[:NOTES_MAX]
        if days is not None:
            locked.expires_at = now + datetime.timedelta(days=days)
        locked.save(update_fields=["reference", "notes", "expires_at"])
        _entry_log(locked, Action.HOTLIST_ENTRY_CHANGED, request, before=before)
    return locked


def entry_remove(*, request: HttpRequest, entry: HotlistEntry, why: str) -> None:
    """Remove an entry before it expires (it stops matching at once), and log why."""
    why = why.replace("\x00", "").strip()[:1000]
    if not why:
        raise ValueError("Say why the entry is removed (e.g. “vehicle recovered”).")
    with transaction.atomic():
        locked = HotlistEntry.objects.select_for_update().select_related("hotlist").get(pk=entry.pk)
        _entry_log(locked, Action.HOTLIST_ENTRY_REMOVED, request, why=why)
        locked.delete()
