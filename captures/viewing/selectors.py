"""Reads of the capture page and the image view: what a read is shown with, and under which
page's entry an image is served."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from audit.models import AccessEvent, Action, Outcome
from captures.models import Capture
from captures.retention.selectors import visible_captures
from captures.search.selectors import page_entries_since
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


# The entries of pages that show images: each lists them in ``details.reads``.
PAGE_ACTIONS = (Action.CAPTURE_VIEWED, Action.RESULTS_VIEWED, Action.EXPORT)


def page_entry_for_image(
    *, user: AbstractBaseUser | AnonymousUser | None, view_id: Any, capture: Capture, kind: str
) -> AccessEvent | None:
    """The entry ``view_id`` of a page of ``user``'s that showed this image, else ``None``.

    Only the user's own allowed entry, of a page that shows images, written within a sign-in's
    longest life, and listing this capture with this image, counts.
    """
    try:
        pk = int(view_id)
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_authenticated or pk <= 0:
        return None
    listed = {"reads": [{"capture": str(capture.pk), "images": [kind]}]}
    return AccessEvent.objects.filter(
        pk=pk,
        actor_id=user.pk,
        action__in=PAGE_ACTIONS,
        outcome=Outcome.ALLOWED,
        occurred_at__gte=page_entries_since(),
        details__contains=listed,
    ).first()
