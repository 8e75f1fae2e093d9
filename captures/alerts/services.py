"""Writes of alerts: viewing one (and its images), checking it, and marking it acted on.

The policy's "confirm before acting": a person compares the plate image with the entry and
records one of four findings (``alert_decide``): confirmed match, misread (the image shows
another plate: the read is corrected through the review service, which matches the corrected
plate again), state mismatch, or entry no longer valid. Only a confirmed alert can be marked
acted on (``alert_act``), with an outcome and a case number. Every step, and every view of an
alert or of its images, is in the access log with the purpose of the entry (its case).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessEvent, Action, Outcome
from audit.services import record_event
from captures.alerts.selectors import visible_hits
from captures.hotlists.models import Hit
from captures.ingest.images import content_type_of
from captures.reading.matching import normalize_plate
from captures.review.selectors import review_version
from captures.review.services import ReviewError, review_correct
from captures.search.selectors import is_vague
from captures.storage import image_files
from tenants.models import Agency

logger = logging.getLogger(__name__)

IMAGE_KINDS = {"plate": "plate_image", "vehicle": "vehicle_image"}
DECISIONS = {
    Hit.Status.CONFIRMED,
    Hit.Status.MISREAD,
    Hit.Status.STATE_MISMATCH,
    Hit.Status.ENTRY_INVALID,
}


class AlertRefused(ValueError):
    """The step cannot be taken (the message says why); the refusal is logged."""


class AlertImageUnavailable(Exception):
    """No such image (or it no longer decrypts): a 404."""


def _purpose(hit: Hit) -> dict[str, Any]:
    """An alert's purpose is its entry's: the entry's case, else the extract's reference."""
    return {
        "purpose_category": hit.entry_purpose_category or "Hotlist alert",
        "purpose_text": f"Checking a hit of {hit.hotlist_name} ({hit.get_reason_display()}) "
        f"against the entry",
        "case_number": hit.entry_case_number or hit.reference,
    }


def _objects(hit: Hit) -> list[tuple[str, Any]]:
    objects: list[tuple[str, Any]] = [("hotlist_hit", hit.pk)]
    if hit.capture_id:
        objects.append(("capture", hit.capture_id))
    return objects


def alert_view(*, request: HttpRequest, hit: Hit) -> AccessEvent:
    """Log one view of an alert's page (``alert_viewed``) with the entry's purpose."""
    return record_event(
        action=Action.ALERT_VIEWED,
        request=request,
        **_purpose(hit),
        query={"plate": hit.read_plate, "state": hit.read_state},
        objects=_objects(hit),
        details={
            "hotlist": hit.hotlist_name,
            "rule": hit.rule,
            "status": hit.status,
            "entry_plate": hit.entry_plate,
            "read_plate": hit.read_plate,
        },
    )


@dataclass(frozen=True)
class AlertImage:
    data: bytes
    content_type: str


def alert_image(*, request: HttpRequest, agency: Agency, hit_id: int, kind: str) -> AlertImage:
    """Decrypt one image of an alert's capture and log ``image_viewed`` (source ``alert``).

    Raises :class:`AlertImageUnavailable`, or ``image_files.DayKeyDestroyed`` (purged).
    """
    field = IMAGE_KINDS.get(kind)
    hit = visible_hits(agency).select_related("capture").filter(pk=hit_id).first()
    capture = hit.capture if hit is not None else None
    name = getattr(capture, field, "") if capture is not None and field else ""
    if hit is None or not name:
        raise AlertImageUnavailable("No such image.")
    try:
        data = image_files.load_image(name)
    except image_files.DayKeyDestroyed:
        raise
    except image_files.ImageDecryptError as exc:
        logger.error("image %s of hit %s cannot be decrypted: %s", kind, hit.pk, exc)
        raise AlertImageUnavailable("This image can no longer be decrypted.") from None
    record_event(
        action=Action.IMAGE_VIEWED,
        request=request,
        **_purpose(hit),
        objects=_objects(hit),
        details={"image": kind, "source": "alert"},
    )
    return AlertImage(data=data, content_type=content_type_of(data))


def _refuse(
    *, request: HttpRequest, hit: Hit, action: Action, message: str, **details: Any
) -> None:
    record_event(
        action=action,
        request=request,
        outcome=Outcome.REFUSED,
        reason=message,
        **_purpose(hit),
        objects=_objects(hit),
        details=details,
    )


def _misread(
    *, request: HttpRequest, agency: Agency, hit: Hit, plate: str, state: str, note: str
) -> str:
    """Correct the read through review; the refusal message, or "" when stored."""
    capture = hit.capture
    if capture is None:
        return "The capture of this alert is gone (past retention): nothing to correct."
    if not normalize_plate(plate):
        return "Type the plate the image shows: the read is corrected to it."
    if normalize_plate(plate) == capture.plate and state.strip().upper() == capture.state:
        return "That is the plate as read: a misread needs the plate the image really shows."
    reason = note or f"Hotlist alert {hit.pk}: the image shows {normalize_plate(plate)}"
    try:
        review_correct(
            agency=agency,
            capture_id=capture.pk,
            user=request.user,
            version=review_version(capture),
            plate=plate,
            state=state.strip().upper(),
            rereview=capture.is_reviewed,
            reason=reason,
            request=request,
        )
    except ReviewError as exc:  # a refusal is in the log already (review's own entry)
        return str(exc)
    return ""


def alert_decide(
    *,
    request: HttpRequest,
    agency: Agency,
    hit_id: int,
    decision: str,
    note: str = "",
    plate: str = "",
    state: str = "",
) -> Hit:
    """Record what a person found comparing the image with the entry (once per alert)."""
    note = note.replace("\x00", "").strip()[:1000]
    message = ""
    with transaction.atomic():
        hit = visible_hits(agency).select_for_update(of=("self",)).filter(pk=hit_id).first()
        if hit is None:
            raise AlertRefused("No such alert (it may be past retention).")
        if decision not in DECISIONS:
            message = "Choose what the image shows: confirmed, misread, state or entry."
        elif hit.status != Hit.Status.NEW:
            message = (
                f"{hit.decided_by_username or 'Someone'} already recorded "
                f"“{hit.get_status_display()}” for this alert; nothing was changed."
            )
        elif decision == Hit.Status.MISREAD:
            message = _misread(
                request=request, agency=agency, hit=hit, plate=plate, state=state, note=note
            )
        if message:
            _refuse(
                request=request,
                hit=hit,
                action=Action.ALERT_DECIDED,
                message=message,
                decision=decision[:20],
            )
        else:
            hit.status = decision
            hit.decided_by_id = request.user.pk
            hit.decided_by_username = request.user.get_username()
            hit.decided_at = timezone.now()
            hit.decision_note = note
            hit.save(
                update_fields=[
                    "status",
                    "decided_by_id",
                    "decided_by_username",
                    "decided_at",
                    "decision_note",
                ]
            )
            record_event(
                action=Action.ALERT_DECIDED,
                request=request,
                **_purpose(hit),
                objects=_objects(hit),
                details={
                    "decision": decision,
                    "note": note,
                    "read_plate": hit.read_plate,
                    "entry_plate": hit.entry_plate,
                    **({"corrected_to": normalize_plate(plate)} if decision == "misread" else {}),
                },
            )
    if message:
        raise AlertRefused(message)
    return hit


def alert_act(
    *, request: HttpRequest, agency: Agency, hit_id: int, outcome: str, case_number: str
) -> Hit:
    """Mark a confirmed alert acted on: the outcome and the case it is linked to."""
    case_number = case_number.replace("\x00", "").strip()[:100]
    message = ""
    with transaction.atomic():
        hit = visible_hits(agency).select_for_update(of=("self",)).filter(pk=hit_id).first()
        if hit is None:
            raise AlertRefused("No such alert (it may be past retention).")
        if hit.status != Hit.Status.CONFIRMED:
            message = (
                "Only a confirmed match can be acted on: compare the plate image with the "
                "entry and record it first."
            )
        elif hit.outcome:
            message = f"This alert was already marked “{hit.get_outcome_display()}”."
        elif outcome not in Hit.ActOutcome.values:
            message = "Choose the outcome from the list."
        elif not case_number or is_vague(case_number):
            message = "Give the case or incident number this outcome belongs to."
        if message:
            _refuse(
                request=request,
                hit=hit,
                action=Action.ALERT_ACTED,
                message=message,
                outcome=outcome[:20],
            )
        else:
            hit.outcome = outcome
            hit.case_number = case_number
            hit.acted_by_username = request.user.get_username()
            hit.acted_at = timezone.now()
            hit.save(update_fields=["outcome", "case_number", "acted_by_username", "acted_at"])
            record_event(
                action=Action.ALERT_ACTED,
                request=request,
                **{**_purpose(hit), "case_number": case_number},
                objects=_objects(hit),
                details={"outcome": outcome, "entry_case_number": hit.entry_case_number},
            )
    if message:
        raise AlertRefused(message)
    return hit
