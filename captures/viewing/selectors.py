"""Reads of the capture page and the image view: what a read is shown with, and why."""

from __future__ import annotations

from django.http import HttpRequest

from audit.models import AccessEvent
from captures.models import Capture
from captures.retention.selectors import visible_captures
from captures.review.selectors import current_review_session
from captures.search.selectors import search_event_for
from tenants.models import Agency

OTHER_READS_LIMIT = 50


def other_reads(
    *, agency: Agency, capture: Capture, limit: int = OTHER_READS_LIMIT
) -> list[Capture]:
    """The newest other reads of the capture's plate within retention."""
    if not capture.plate:
        return []
    return list(
        visible_captures(agency)
        .filter(plate=capture.plate)
        .exclude(pk=capture.pk)
        .select_related("camera")
        .order_by("-captured_at")[:limit]
    )


def image_purpose(
    *, request: HttpRequest, search_id: str | None, review_id: str | None
) -> tuple[AccessEvent | None, str]:
    """The entry an image view names as its reason, and its ``source``: the user's own allowed
    search (search), else the review session held in this sign-in session (review), else
    nothing (direct). Any other id names nothing."""
    related = search_event_for(user=request.user, event_id=search_id)
    if related is not None:
        return related, "search"
    if review_id:
        session_event = current_review_session(request)
        if session_event is not None and str(session_event.pk) == review_id:
            return session_event, "review"
    return None, "direct"
