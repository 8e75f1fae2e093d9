"""Reads of image review: review sessions, the queue and the version of a read.

A review session is an access-log entry (``review_session``) whose id the sign-in session
holds (``REVIEW_SESSION_KEY``); it is honoured while it is the user's own, allowed and younger
than ``ALPR_REVIEW_SESSION_SECONDS`` (default 4 hours).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessEvent, Action
from audit.selectors import own_allowed_entries
from captures.models import AuthorizedPurpose, Capture
from captures.retention.selectors import visible_captures
from tenants.models import Agency

REVIEW_SESSION_KEY = "review_session_event"


def review_session_seconds() -> int:
    seconds: int = settings.ALPR_REVIEW_SESSION_SECONDS
    return seconds


def review_purposes() -> QuerySet[AuthorizedPurpose]:
    """The agency's purposes offered when starting a review session."""
    return AuthorizedPurpose.objects.filter(
        active=True, use__in=[AuthorizedPurpose.Use.REVIEW, AuthorizedPurpose.Use.BOTH]
    )


def review_session_get(
    *,
    user: AbstractBaseUser | AnonymousUser | None,
    event_id: Any,
    now: datetime.datetime | None = None,
) -> AccessEvent | None:
    """The user's own allowed review session ``event_id`` if it has not expired, else None."""
    now = now or timezone.now()
    return (
        own_allowed_entries(user=user, event_id=event_id, action=Action.REVIEW_SESSION)
        .filter(occurred_at__gt=now - datetime.timedelta(seconds=review_session_seconds()))
        .first()
    )


def current_review_session(request: HttpRequest) -> AccessEvent | None:
    """The review session held in this sign-in session, while it is valid."""
    return review_session_get(user=request.user, event_id=request.session.get(REVIEW_SESSION_KEY))


def review_version(capture: Capture) -> int:
    """The version of a read a decision is made on: its latest review's id (0: none yet)."""
    latest = capture.reviews.order_by("-id").values_list("id", flat=True).first()
    return latest or 0


def awaiting_review(capture: Capture) -> bool:
    """Whether the read is one the review queue offers (a reading no person decided on)."""
    return (
        capture.status == Capture.Status.READ
        and capture.review_status == Capture.Review.UNCONFIRMED
        and bool(capture.plate)
    )


def review_queue(*, agency: Agency) -> QuerySet[Capture]:
    """Unconfirmed reads within retention, lowest confidence first (then oldest first)."""
    return (
        visible_captures(agency)
        .filter(status=Capture.Status.READ, review_status=Capture.Review.UNCONFIRMED)
        .exclude(plate="")
        .select_related("camera")
        .order_by(F("machine_confidence").asc(nulls_first=True), "captured_at", "id")
    )


def review_doubtful_count(*, agency: Agency) -> int:
    """Reads of the queue below the review threshold (``ALPR_REVIEW_THRESHOLD``, calibrated
    confidence): the ones a person should look at; above it, reads are >= 98% right."""
    threshold = settings.ALPR_REVIEW_THRESHOLD
    return (
        review_queue(agency=agency)
        .filter(Q(machine_confidence__lt=threshold) | Q(machine_confidence__isnull=True))
        .count()
    )


def review_queue_next(*, agency: Agency, skipped: Iterable[str] = ()) -> Capture | None:
    """The first read of the queue that the user did not skip (stale or forged ids are ignored)."""
    queue = review_queue(agency=agency)
    valid_skips = []
    for value in skipped:
        with contextlib.suppress(ValidationError):
            valid_skips.append(str(Capture._meta.pk.to_python(value)))
    return queue.exclude(pk__in=valid_skips).first() if valid_skips else queue.first()
