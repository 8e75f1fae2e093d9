"""Writes of legal holds: placing, renewing and lifting a hold, and showing what it keeps.

Each service writes its access-log entry itself, in the transaction of what it records:
``hold_placed``, ``hold_renewed``, ``hold_released``, ``hold_viewed`` (the hold's page with
the captures it keeps) and ``image_viewed`` (an image shown there), the last two with the
hold's case number as their purpose.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessEvent, Action
from audit.services import Actor, record_event
from captures.holds.models import HeldCapture, HoldRenewal, LegalHold
from captures.holds.selectors import hold_end_instant, local_today, one_year_after
from captures.ingest.images import content_type_of
from captures.models import Capture
from captures.retention.selectors import visible_captures
from captures.storage import image_files
from tenants.models import Agency

HOLD_PURPOSE = "Legal hold"
COMMAND_USERNAME = "system:legal_hold"
MAX_CAPTURES_PER_HOLD = 10_000
IMAGE_FIELDS = {"plate": "plate_image", "vehicle": "vehicle_image"}
CASE_NUMBER_MAX = 100
AUTHORITY_MAX = 300


class HoldRefused(Exception):
    """The hold cannot be placed, renewed or lifted; the message says why and what to do."""


@dataclass(frozen=True)
class Who:
    """Who acts: the request's user, or a named system actor (the command)."""

    request: HttpRequest | None = None
    username: str = ""

    def actor(self) -> Actor | None:
        user = getattr(self.request, "user", None) if self.request is not None else None
        return user if user is not None and user.is_authenticated else None

    def ident(self) -> tuple[int | None, str]:
        actor = self.actor()
        if actor is not None:
            return actor.pk, actor.get_username()
        return None, self.username or COMMAND_USERNAME


def _check_end(agency: Agency, ends_on: datetime.date, *, now: datetime.datetime) -> None:
    today = local_today(agency, now=now)
    if ends_on < today:
        raise HoldRefused(
            f"The end date {ends_on:%Y-%m-%d} has passed; give a day from today "
            f"({today:%Y-%m-%d}) on."
        )
    latest = one_year_after(today)
    if ends_on > latest:
        raise HoldRefused(
            f"A hold lasts at most one year: give an end date no later than {latest:%Y-%m-%d}, "
            "and renew it with a new reason when the case needs more time."
        )


def _check_text(*, case_number: str, reason: str, authority: str) -> None:
    if not case_number:
        raise HoldRefused("Give the case number the hold is for.")
    if len(case_number) > CASE_NUMBER_MAX:
        raise HoldRefused(f"The case number is longer than {CASE_NUMBER_MAX} characters.")
    if not reason:
        raise HoldRefused("Give the reason for the hold.")
    if len(authority) > AUTHORITY_MAX:
        raise HoldRefused(f"The legal authority is longer than {AUTHORITY_MAX} characters.")
    for text in (case_number, reason, authority):
        if "\x00" in text:
            raise HoldRefused("The text contains a NUL character; remove it.")


def _unique_ids(capture_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    ids = list(dict.fromkeys(capture_ids))
    if not ids:
        raise HoldRefused("Choose at least one capture to hold.")
    if len(ids) > MAX_CAPTURES_PER_HOLD:
        raise HoldRefused(
            f"A hold keeps at most {MAX_CAPTURES_PER_HOLD} captures; split it into several holds."
        )
    return ids


def _lock_captures(
    agency: Agency, ids: list[uuid.UUID], *, now: datetime.datetime
) -> list[uuid.UUID]:
    """Lock the captures (a purge running now waits for, or skips, them); all must be live."""
    found = set(
        visible_captures(agency, now=now)
        .filter(pk__in=ids)
        .select_for_update(of=("self",))
        .values_list("pk", flat=True)
    )
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise HoldRefused(
            f"{len(missing)} of the captures are not this agency's or are already past "
            f"retention (and so no longer kept): {shown}. A hold keeps only captures within "
            "retention."
        )
    return ids


def hold_place(
    *,
    agency: Agency,
    who: Who,
    capture_ids: Sequence[uuid.UUID],
    case_number: str,
    reason: str,
    ends_on: datetime.date,
    authority: str = "",
    source: str = LegalHold.Source.CASE,
    source_event_id: int | None = None,
    now: datetime.datetime | None = None,
) -> LegalHold:
    """Place a hold on ``capture_ids`` (all within retention) until the end of ``ends_on``.

    Raises :class:`HoldRefused` with nothing stored when the input is not acceptable.
    """
    now = now or timezone.now()
    case_number, reason, authority = case_number.strip(), reason.strip(), authority.strip()
    _check_text(case_number=case_number, reason=reason, authority=authority)
    _check_end(agency, ends_on, now=now)
    ids = _unique_ids(capture_ids)
    actor_id, username = who.ident()
    with transaction.atomic():
        _lock_captures(agency, ids, now=now)
        hold = LegalHold.objects.create(
            case_number=case_number,
            authority=authority,
            reason=reason,
            ends_on=ends_on,
            ends_at=hold_end_instant(agency, ends_on),
            source=source,
            source_event_id=source_event_id,
            capture_count=len(ids),
            created_at=now,
            created_by_id=actor_id,
            created_by_username=username,
        )
        HeldCapture.objects.bulk_create([HeldCapture(hold=hold, capture_id=pk) for pk in ids])
        record_event(
            action=Action.HOLD_PLACED,
            request=who.request,
            username=username,
            purpose_category=HOLD_PURPOSE,
            purpose_text=reason,
            case_number=case_number,
            objects=[("legal_hold", hold.pk), *(("capture", pk) for pk in ids)],
            related_event_id=source_event_id,
            details={
                "hold_id": hold.pk,
                "authority": authority,
                "ends_on": ends_on.isoformat(),
                "source": source,
                "capture_count": len(ids),
            },
        )
    return hold


def _locked_active(hold_id: int, *, now: datetime.datetime, verb: str) -> LegalHold:
    hold = LegalHold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None:
        raise HoldRefused(f"There is no legal hold {hold_id} in this agency.")
    if hold.released_at is not None:
        raise HoldRefused(f"Hold {hold.pk} was already lifted; it cannot be {verb}.")
    if not hold.is_active(now=now):
        raise HoldRefused(
            f"Hold {hold.pk} ended on {hold.ends_on:%Y-%m-%d}; it cannot be {verb}. Place a new "
            "hold on captures still within retention."
        )
    return hold


def hold_renew(
    *,
    agency: Agency,
    who: Who,
    hold_id: int,
    ends_on: datetime.date,
    reason: str,
    now: datetime.datetime | None = None,
) -> LegalHold:
    """Move an active hold's end to ``ends_on`` (later, at most a year from today), with a
    new reason; the renewal is kept beside the hold."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason or "\x00" in reason:
        raise HoldRefused("Give the reason for renewing the hold.")
    _check_end(agency, ends_on, now=now)
    actor_id, username = who.ident()
    with transaction.atomic():
        hold = _locked_active(hold_id, now=now, verb="renewed")
        if ends_on <= hold.ends_on:
            raise HoldRefused(
                f"A renewal moves the end later than {hold.ends_on:%Y-%m-%d}; give a later day."
            )
        previous = hold.ends_on
        HoldRenewal.objects.create(
            hold=hold,
            previous_ends_on=previous,
            ends_on=ends_on,
            reason=reason,
            renewed_at=now,
            renewed_by_id=actor_id,
            renewed_by_username=username,
        )
        hold.ends_on, hold.ends_at = ends_on, hold_end_instant(agency, ends_on)
        hold.save(update_fields=["ends_on", "ends_at"])
        record_event(
            action=Action.HOLD_RENEWED,
            request=who.request,
            username=username,
            purpose_category=HOLD_PURPOSE,
            purpose_text=reason,
            case_number=hold.case_number,
            objects=[("legal_hold", hold.pk)],
            details={
                "hold_id": hold.pk,
                "previous_ends_on": previous.isoformat(),
                "ends_on": ends_on.isoformat(),
            },
        )
    return hold


def hold_release(
    *, who: Who, hold_id: int, reason: str, now: datetime.datetime | None = None
) -> LegalHold:
    """Lift an active hold now: its captures past retention go with the next nightly purge."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason or "\x00" in reason:
        raise HoldRefused("Say why the hold is lifted.")
    actor_id, username = who.ident()
    with transaction.atomic():
        hold = _locked_active(hold_id, now=now, verb="lifted")
        hold.released_at = now
        hold.released_by_id, hold.released_by_username = actor_id, username
        hold.release_reason = reason
        hold.save(
            update_fields=[
                "released_at",
                "released_by_id",
                "released_by_username",
                "release_reason",
            ]
        )
        record_event(
            action=Action.HOLD_RELEASED,
            request=who.request,
            username=username,
            purpose_category=HOLD_PURPOSE,
            purpose_text=reason,
            case_number=hold.case_number,
            objects=[("legal_hold", hold.pk)],
            details={"hold_id": hold.pk, "capture_count": hold.capture_count},
        )
    return hold


def hold_page_view(*, request: HttpRequest, hold: LegalHold, captures: Sequence[Capture]) -> None:
    """Log the hold's page showing ``captures`` (``hold_viewed``, the hold's case as purpose)."""
    with transaction.atomic():
        record_event(
            action=Action.HOLD_VIEWED,
            request=request,
            purpose_category=HOLD_PURPOSE,
            purpose_text=hold.reason,
            case_number=hold.case_number,
            objects=[("legal_hold", hold.pk), *(("capture", c.pk) for c in captures)],
            details={
                "hold_id": hold.pk,
                "shown": len(captures),
                "plates": [c.plate for c in captures],
            },
        )


def _hold_page_entry(*, request: HttpRequest, hold: LegalHold, capture_id: uuid.UUID) -> int | None:
    """The user's latest ``hold_viewed`` entry that showed this capture of this hold: the
    purpose the image is seen for (an image fetched without it is flagged as a direct view)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    shown = [{"type": "legal_hold", "id": str(hold.pk)}, {"type": "capture", "id": str(capture_id)}]
    entry: int | None = (
        AccessEvent.objects.filter(
            action=Action.HOLD_VIEWED, actor_id=user.pk, objects_touched__contains=shown
        )
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
    return entry


@dataclass(frozen=True)
class HeldImage:
    data: bytes
    content_type: str


def hold_image(
    *, request: HttpRequest, hold: LegalHold, capture_id: uuid.UUID, kind: str
) -> HeldImage | None:
    """An image of a capture the active ``hold`` keeps, logged as ``image_viewed`` with the
    hold's case; None when there is no such image (nothing is logged)."""
    field = IMAGE_FIELDS.get(kind)
    if field is None or not hold.is_active():
        return None
    if not hold.items.filter(capture_id=capture_id).exists():
        return None
    capture = Capture.objects.filter(pk=capture_id).only("pk", field, "key_day").first()
    name = getattr(capture, field, "") if capture is not None else ""
    if capture is None or not name:
        return None
    try:
        data = image_files.load_image(name)
    except (image_files.ImageStorageError, OSError):
        return None
    record_event(
        action=Action.IMAGE_VIEWED,
        request=request,
        purpose_category=HOLD_PURPOSE,
        purpose_text=hold.reason,
        case_number=hold.case_number,
        objects=[("capture", capture.pk)],
        related_event_id=_hold_page_entry(request=request, hold=hold, capture_id=capture.pk),
        details={"image": kind, "source": "legal_hold", "hold_id": hold.pk},
    )
    return HeldImage(data=data, content_type=content_type_of(data))
