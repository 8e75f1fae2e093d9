"""Showing a read: the capture page, printing it for a case, and its images.

Each service selects what is shown and writes its access-log entry: ``capture_viewed``,
``export`` or ``image_viewed``, with the search or review session that led there.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest

from audit.models import AccessEvent, Action
from audit.services import record_event
from captures.ingest.images import content_type_of
from captures.models import Capture, Review
from captures.releases.models import Disclosure
from captures.retention.selectors import visible_captures
from captures.review.services import CONFIRM_BEFORE_ACTING
from captures.search.services import capture_view_log
from captures.storage import image_files
from captures.viewing.selectors import image_purpose, other_reads
from tenants.models import Agency

logger = logging.getLogger(__name__)

IMAGE_KINDS = {"plate": "plate_image", "vehicle": "vehicle_image"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class PrintRefused(Exception):
    """The read cannot be printed for a case; the message says what to do first."""


class ImageUnavailable(Exception):
    """There is no such image to show (the message says which case); answered with a 404."""


@dataclass(frozen=True)
class CapturePage:
    capture: Capture
    reviews: list[Review]  # only under a search, like the other reads
    others: list[Capture]  # only under a search: other reads of a plate are a search of it
    search_event: AccessEvent | None


def capture_view(
    *,
    request: HttpRequest,
    agency: Agency,
    capture: Capture,
    search_event: AccessEvent | None,
) -> CapturePage:
    """The capture page's data and its ``capture_viewed`` entry, in one transaction.

    Under a search of the user's own (``search_event``) the page lists other reads of the
    plate and the entry carries that search's purpose; opened directly it shows this read
    alone, without its review history (who read it as what), and is logged with ``source``
    direct.
    """
    with transaction.atomic():
        reviews = list(capture.reviews.all()) if search_event is not None else []
        others = other_reads(agency=agency, capture=capture) if search_event is not None else []
        capture_view_log(
            request=request,
            capture=capture,
            source="search" if search_event else "direct",
            purpose_event=search_event,
            other_reads_shown=len(others),
        )
    return CapturePage(capture=capture, reviews=reviews, others=others, search_event=search_event)


def capture_print(
    *,
    request: HttpRequest,
    capture: Capture,
    search_event: AccessEvent | None,
    case_number: str,
    disclosure: Disclosure | None = None,
) -> AccessEvent:
    """Record printing a confirmed read for a case (``export``, format print).

    A printout that leaves the agency names its approved ``disclosure`` (print medium, this
    capture): the entry carries the disclosure's id and legal basis.
    Raises :class:`PrintRefused` for a read no person has confirmed (nothing is logged).
    """
    if not capture.is_confirmed:
        raise PrintRefused(CONFIRM_BEFORE_ACTING)
    details: dict[str, object] = {
        "format": "print",
        "plate": capture.plate,
        "state": capture.state,
        "leaves_agency": disclosure is not None,
    }
    if disclosure is not None:
        if disclosure.status != Disclosure.Status.APPROVED or capture.pk not in (
            disclosure.capture_ids
        ):
            raise PrintRefused("This printout is not covered by an approved disclosure.")
        details.update(
            disclosure_id=disclosure.pk,
            recipient_organisation=disclosure.recipient_organisation,
            legal_basis=disclosure.legal_basis,
        )
        return record_event(
            action=Action.EXPORT,
            request=request,
            purpose_category=disclosure.get_legal_basis_display(),
            purpose_text=disclosure.justification,
            case_number=disclosure.case_number,
            objects=[("capture", capture.pk), ("disclosure", disclosure.pk)],
            details=details,
        )
    return record_event(
        action=Action.EXPORT,
        request=request,
        purpose_category=search_event.purpose_category if search_event else "",
        purpose_text=search_event.purpose_text if search_event else "",
        case_number=case_number,
        objects=[("capture", capture.pk)],
        related_event_id=search_event.pk if search_event else None,
        details=details,
    )


@dataclass(frozen=True)
class ServedImage:
    data: bytes
    content_type: str
    filename: str


def image_serve(
    *,
    request: HttpRequest,
    agency: Agency,
    capture_id: uuid.UUID,
    kind: str,
    search_id: str | None = None,
    review_id: str | None = None,
) -> ServedImage:
    """Decrypt a capture's plate or vehicle image and log ``image_viewed``.

    ``search_id`` / ``review_id`` name the search or review session that led here; only the
    user's own allowed search, or the session of this sign-in, count (else ``source`` direct).
    Raises :class:`ImageUnavailable` (no such image, or it no longer decrypts) and
    ``image_files.DayKeyDestroyed`` (purged with its day's key); neither is logged.
    """
    field = IMAGE_KINDS.get(kind)
    if field is None:
        raise ImageUnavailable("No such image.")
    capture = visible_captures(agency).filter(pk=capture_id).only("pk", field, "key_day").first()
    name = getattr(capture, field, "") if capture is not None else ""
    if capture is None or not name:
        raise ImageUnavailable("No such image.")
    related, source = image_purpose(request=request, search_id=search_id, review_id=review_id)
    try:
        data = image_files.load_image(name)
    except image_files.DayKeyDestroyed:
        raise
    except image_files.ImageDecryptError as exc:
        logger.error("image %s of capture %s cannot be decrypted: %s", kind, capture.pk, exc)
        raise ImageUnavailable("This image can no longer be decrypted.") from None
    record_event(
        action=Action.IMAGE_VIEWED,
        request=request,
        objects=[("capture", capture.pk)],
        related_event_id=related.pk if related is not None else None,
        details={"image": kind, "source": source},
    )
    content_type = content_type_of(data)
    extension = EXTENSIONS.get(content_type, "bin")
    return ServedImage(
        data=data,
        content_type=content_type,
        filename=f"capture-{capture.pk}-{kind}.{extension}",
    )
