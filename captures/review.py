"""Image review: a person confirms, corrects or rejects the computer's reading.

Each decision is one transaction: the capture's reading in force, a Review row and an
access-log entry. The recognizer's own reading (``machine_*``) is never changed.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.models import Action
from audit.services import record_event
from captures.matching import match_key, normalize_plate
from captures.models import Capture, Review
from captures.retention import visible_captures
from tenants.models import Agency

US_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]

CONFIRM_BEFORE_ACTING = (
    "A person has not confirmed this read yet. Confirm or correct it in the review queue "
    "before printing, exporting or acting on it."
)


class ReviewError(ValueError):
    """The decision cannot be stored; the message says why and what to do."""


def review_queue(*, agency: Agency) -> QuerySet[Capture]:
    """Unconfirmed reads within retention, lowest confidence first (then oldest first)."""
    return (
        visible_captures(agency)
        .filter(status=Capture.Status.READ, review_status=Capture.Review.UNCONFIRMED)
        .exclude(plate="")
        .select_related("camera")
        .order_by(F("machine_confidence").asc(nulls_first=True), "captured_at", "id")
    )


def _decide(
    *,
    agency: Agency,
    capture_id,
    user,
    action: Review.Action,
    plate: str | None = None,
    state: str | None = None,
    expected_status: str | None = None,
    request: HttpRequest | None = None,
    related_event_id: int | None = None,
) -> Review:
    with transaction.atomic():
        capture = visible_captures(agency).select_for_update().filter(pk=capture_id).first()
        if capture is None:
            raise ReviewError("This capture no longer exists (it may be past retention).")
        if expected_status and capture.review_status != expected_status:
            who = capture.reviewed_by_username or "someone else"
            raise ReviewError(
                f"{who} reviewed this read while you were looking at it; it is now "
                f"“{capture.get_review_status_display().lower()}”. Nothing was changed."
            )
        plate_before, state_before = capture.plate, capture.state
        if action == Review.Action.CONFIRM and not capture.plate:
            raise ReviewError(
                "There is no reading to confirm: type the plate you read and save it as a "
                "correction, or mark the read unreadable."
            )
        if action == Review.Action.CORRECT:
            new_plate = normalize_plate(plate if plate is not None else capture.plate)
            new_state = (state if state is not None else capture.state).strip().upper()
            if not new_plate:
                raise ReviewError("Type the plate as you read it (letters and digits).")
            if new_state and new_state not in US_STATES:
                raise ReviewError(f"“{new_state}” is not a US state code (e.g. CA, NY, DC).")
            if (new_plate, new_state) == (plate_before, state_before):
                action = Review.Action.CONFIRM
            capture.plate, capture.state = new_plate, new_state
            capture.match_key = match_key(new_plate)
        capture.review_status = {
            Review.Action.CONFIRM: Capture.Review.CONFIRMED,
            Review.Action.CORRECT: Capture.Review.CORRECTED,
            Review.Action.UNREADABLE: Capture.Review.UNREADABLE,
        }[action]
        now = timezone.now()
        capture.reviewed_by_id = user.pk
        capture.reviewed_by_username = user.get_username()
        capture.reviewed_at = now
        capture.save(
            update_fields=[
                "plate",
                "state",
                "match_key",
                "review_status",
                "reviewed_by_id",
                "reviewed_by_username",
                "reviewed_at",
            ]
        )
        review = Review.objects.create(
            capture=capture,
            action=action,
            reviewer_id=user.pk,
            reviewer_username=user.get_username(),
            plate_before=plate_before,
            state_before=state_before,
            plate_after=capture.plate,
            state_after=capture.state,
            reviewed_at=now,
        )
        record_event(
            action=Action.REVIEW,
            request=request,
            actor=user,
            objects=[("capture", capture.pk)],
            related_event_id=related_event_id,
            details={
                "decision": str(action),
                "plate_before": plate_before,
                "state_before": state_before,
                "plate_after": capture.plate,
                "state_after": capture.state,
                "machine_plate": capture.machine_plate,
                "machine_state": capture.machine_state,
                "machine_confidence": capture.machine_confidence,
            },
        )
    return review


def review_confirm(*, agency: Agency, capture_id, user, **kwargs) -> Review:
    """The reading in force is right as it stands."""
    return _decide(
        agency=agency, capture_id=capture_id, user=user, action=Review.Action.CONFIRM, **kwargs
    )


def review_correct(
    *, agency: Agency, capture_id, user, plate: str | None, state: str | None, **kwargs
) -> Review:
    """Replace the plate and/or state in force (the machine's reading is kept beside it)."""
    return _decide(
        agency=agency,
        capture_id=capture_id,
        user=user,
        action=Review.Action.CORRECT,
        plate=plate,
        state=state,
        **kwargs,
    )


def review_mark_unreadable(*, agency: Agency, capture_id, user, **kwargs) -> Review:
    """Nobody can read this plate: the read stays out of searches (its history remains)."""
    return _decide(
        agency=agency,
        capture_id=capture_id,
        user=user,
        action=Review.Action.UNREADABLE,
        **kwargs,
    )
