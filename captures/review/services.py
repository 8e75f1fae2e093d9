"""Writes of image review: a person confirms, corrects or rejects the computer's reading.

The review queue is plate data, so reviewing it is a *review session* started with a stated
purpose (``review_session_start``, logged as ``review_session``); every item shown in the queue
is logged with that purpose and linked to the session's entry. A session belongs to the user
who started it, lives in their sign-in session and ends with it, or after
``ALPR_REVIEW_SESSION_SECONDS`` (default 4 hours), whichever is first.

Each decision is one transaction: the capture's reading in force, a Review row and an
access-log entry. The recognizer's own reading (``machine_*``) is never changed. A decision
names the version of the read it was made on (the id of the latest review, 0 for none): a
decision made on a page that is no longer current is refused and the refusal logged. A read a
person already decided on changes only through an explicit re-review with a reason, which
names the review it replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessEvent, Action, Outcome
from audit.services import record_event
from captures.hotlists.matching import match_read
from captures.hotlists.models import Hit
from captures.models import AuthorizedPurpose, Capture, Review
from captures.reading.matching import match_key, normalize_plate
from captures.retention.selectors import visible_captures
from captures.review.selectors import review_queue, review_session_seconds, review_version
from captures.search.query import US_STATES
from captures.search.selectors import is_vague, purpose_problems
from captures.search.services import capture_view_log
from tenants.models import Agency

CONFIRM_BEFORE_ACTING = (
    "A person has not confirmed this read yet. Confirm or correct it in the review queue "
    "before printing, exporting or acting on it."
)


class ReviewError(ValueError):
    """The decision cannot be stored; the message says why and what to do."""


class ReviewRefused(ReviewError):
    """The decision breaks the review rules (stale page, re-review without a reason...).

    The refusal is in the access log. ``stale`` is true when the read changed since the page
    was shown (HTTP 409).
    """

    def __init__(self, message: str, *, stale: bool = False):
        super().__init__(message)
        self.stale = stale


# --- review sessions ---------------------------------------------------------------


@dataclass(frozen=True)
class SessionStart:
    event: AccessEvent
    problems: list[str]

    @property
    def allowed(self) -> bool:
        return not self.problems


def review_session_start(
    *,
    agency: Agency,
    user: Any,
    purpose: AuthorizedPurpose | None,
    purpose_text: str,
    case_number: str,
    form_problems: Sequence[str] = (),
    request: HttpRequest | None = None,
) -> SessionStart:
    """Check the stated purpose of a review session and log it, allowed or refused.

    The rules are the search form's (category from the list, case number where it applies,
    no vague details, no prohibited terms); a refusal is logged with its reasons.
    """
    # What was typed is logged even when refused: cut to the log's sizes, NULs (which the
    # database cannot store in text) dropped.
    purpose_text = purpose_text.replace("\x00", "").strip()[:1000]
    case_number = case_number.replace("\x00", "").strip()[:100]
    problems = [
        *form_problems,
        *purpose_problems(
            agency=agency,
            purpose=purpose,
            purpose_text=purpose_text,
            case_number=case_number,
            activity="review",
        ),
    ]
    event = record_event(
        action=Action.REVIEW_SESSION,
        request=request,
        actor=user,
        outcome=Outcome.REFUSED if problems else Outcome.ALLOWED,
        reason=" ".join(problems),
        purpose_category=purpose.name if purpose else "",
        purpose_text=purpose_text,
        case_number=case_number,
        details={"expires_after_seconds": review_session_seconds()},
    )
    return SessionStart(event=event, problems=list(problems))


# --- the review page ------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewPage:
    """What the review page shows: a read (``None``: the queue is empty) and the queue's size."""

    capture: Capture | None
    latest_review: Review | None
    remaining: int
    view: AccessEvent | None = None  # the read's capture_viewed entry (its images)

    @property
    def version(self) -> int:
        """The version of the read the page's decision is made on (0: no review yet)."""
        return self.latest_review.pk if self.latest_review is not None else 0


def review_item_view(
    *,
    request: HttpRequest,
    agency: Agency,
    capture: Capture | None,
    purpose_event: AccessEvent | None,
) -> ReviewPage:
    """The review page's data and, when it shows a read, its ``capture_viewed`` entry
    (``source`` review) with the purpose of the search or review session, in one transaction."""
    with transaction.atomic():
        latest = capture.reviews.order_by("-id").first() if capture is not None else None
        remaining = review_queue(agency=agency).count()
        view = None
        if capture is not None:
            view = capture_view_log(
                request=request, capture=capture, source="review", purpose_event=purpose_event
            )
    return ReviewPage(capture=capture, latest_review=latest, remaining=remaining, view=view)


# --- decisions ------------------------------------------------------------------------


def _refuse(
    *,
    capture: Capture,
    user: Any,
    request: HttpRequest | None,
    related_event_id: int | None,
    message: str,
    details: dict[str, Any],
) -> None:
    record_event(
        action=Action.REVIEW,
        request=request,
        actor=user,
        outcome=Outcome.REFUSED,
        reason=message,
        objects=[("capture", capture.pk)],
        related_event_id=related_event_id,
        details=details,
    )


def _parse_version(value: Any) -> int | None:
    try:
        version = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return version if version >= 0 else None


def _decide(
    *,
    agency: Agency,
    capture_id: Any,
    user: Any,
    action: Review.Action,
    version: Any,
    plate: str | None = None,
    state: str | None = None,
    rereview: bool = False,
    reason: str = "",
    allow_rereview: bool = True,
    request: HttpRequest | None = None,
    related_event_id: int | None = None,
) -> Review:
    refusal: ReviewRefused | None = None
    with transaction.atomic():
        capture = visible_captures(agency).select_for_update().filter(pk=capture_id).first()
        if capture is None:
            raise ReviewError("This capture no longer exists (it may be past retention).")
        current = review_version(capture)
        shown = _parse_version(version)
        reason = (reason or "").strip()
        context = {
            "decision": str(action),
            "version_shown": shown,
            "version_current": current,
            "rereview": rereview,
        }
        if shown is None:
            refusal = ReviewRefused(
                "This page did not say which version of the read it showed, so the decision "
                "cannot be checked against the current one. Nothing was changed: open the read "
                "again.",
                stale=True,
            )
        elif shown != current:
            now_reads = f" as {capture.plate} {capture.state}".rstrip() if capture.plate else ""
            refusal = ReviewRefused(
                f"{capture.reviewed_by_username or 'Someone else'} reviewed this read while you "
                f"were looking at it; it is now "
                f"“{capture.get_review_status_display().lower()}”{now_reads}. Nothing was "
                "changed: open the read again to see its current state.",
                stale=True,
            )
        elif capture.is_reviewed and not rereview:
            refusal = ReviewRefused(
                f"This read was already {capture.get_review_status_display().lower()} by "
                f"{capture.reviewed_by_username or 'someone'}. To change it, re-review it and "
                "give the reason."
            )
        elif rereview and not capture.is_reviewed:
            refusal = ReviewRefused(
                "No person has decided on this read yet, so there is nothing to re-review: "
                "review it instead."
            )
        elif rereview and not allow_rereview:
            refusal = ReviewRefused(
                "Re-reviewing a read needs a search with a stated purpose: search for the "
                "plate and open the read from the results."
            )
        elif rereview and (not reason or is_vague(reason)):
            refusal = ReviewRefused(
                "Say why the earlier decision is wrong (for example “the plate image shows an 8, "
                "not a B”); nothing was changed."
            )
        if refusal is not None:
            _refuse(
                capture=capture,
                user=user,
                request=request,
                related_event_id=related_event_id,
                message=str(refusal),
                details={**context, "reason": reason[:1000]},
            )
        else:
            review = _apply(
                capture=capture,
                user=user,
                action=action,
                plate=plate,
                state=state,
                rereview=rereview,
                reason=reason,
                replaces_id=current or None,
                request=request,
                related_event_id=related_event_id,
            )
    if refusal is not None:
        raise refusal  # outside the block, so the refusal's log entry is kept
    return review


def _apply(
    *,
    capture: Capture,
    user: Any,
    action: Review.Action,
    plate: str | None,
    state: str | None,
    rereview: bool,
    reason: str,
    replaces_id: int | None,
    request: HttpRequest | None,
    related_event_id: int | None,
) -> Review:
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
    status_before = capture.review_status
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
        replaces_id=replaces_id if rereview else None,
        reason=reason if rereview else "",
    )
    details: dict[str, Any] = {
        "decision": str(action),
        "review_id": review.pk,
        "plate_before": plate_before,
        "state_before": state_before,
        "plate_after": capture.plate,
        "state_after": capture.state,
        "machine_plate": capture.machine_plate,
        "machine_state": capture.machine_state,
        "machine_confidence": capture.machine_confidence,
    }
    if rereview:
        details.update(
            {"rereview": True, "replaces_review_id": replaces_id, "status_before": status_before}
        )
    if action == Review.Action.CORRECT:
        match_read(
            capture=capture,
            plate=capture.plate,
            state=capture.state,
            confidence=None,
            source=Hit.Source.REVIEW,
            now=now,
        )
    record_event(
        action=Action.REVIEW,
        request=request,
        actor=user,
        reason=reason if rereview else "",
        objects=[("capture", capture.pk)],
        related_event_id=related_event_id,
        details=details,
    )
    return review


def review_confirm(
    *, agency: Agency, capture_id: Any, user: Any, version: Any, **kwargs: Any
) -> Review:
    """The reading in force is right as it stands (``version``: what the page showed)."""
    return _decide(
        agency=agency,
        capture_id=capture_id,
        user=user,
        action=Review.Action.CONFIRM,
        version=version,
        **kwargs,
    )


def review_correct(
    *,
    agency: Agency,
    capture_id: Any,
    user: Any,
    version: Any,
    plate: str | None,
    state: str | None,
    **kwargs: Any,
) -> Review:
    """Replace the plate and/or state in force (the machine's reading is kept beside it)."""
    return _decide(
        agency=agency,
        capture_id=capture_id,
        user=user,
        action=Review.Action.CORRECT,
        version=version,
        plate=plate,
        state=state,
        **kwargs,
    )


def review_mark_unreadable(
    *, agency: Agency, capture_id: Any, user: Any, version: Any, **kwargs: Any
) -> Review:
    """Nobody can read this plate: the read stays out of searches (its history remains)."""
    return _decide(
        agency=agency,
        capture_id=capture_id,
        user=user,
        action=Review.Action.UNREADABLE,
        version=version,
        **kwargs,
    )
