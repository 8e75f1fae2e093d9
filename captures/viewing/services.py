"""Showing a read: the capture page, printing it for a case, and its images.

Each service selects what is shown and writes its access-log entry: ``capture_viewed`` or
``export``, with the search or review session that led there and the images the page shows;
an image is served only under the entry of a page that showed it.
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
from captures.search.services import capture_view_log, read_shown
from captures.storage import image_files
from captures.viewing.selectors import other_reads, page_entry_for_image
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
    view: AccessEvent  # the page's capture_viewed entry: its images are served under it


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
        view = capture_view_log(
            request=request,
            capture=capture,
            source="search" if search_event else "direct",
            purpose_event=search_event,
            others=others,
            other_reads_shown=len(others),
        )
    return CapturePage(
        capture=capture, reviews=reviews, others=others, search_event=search_event, view=view
    )


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
        "reads": [read_shown(capture)],  # the printout shows its images under this entry
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


class ImageRefused(Exception):
    """No page of this user's showed this image: it is served only under the page's entry."""


def image_serve(
    *,
    request: HttpRequest,
    agency: Agency,
    capture_id: uuid.UUID,
    kind: str,
    view_id: str | None,
) -> ServedImage:
    """Decrypt a capture's plate or vehicle image for the page that shows it.

    ``view_id`` names the access-log entry of that page (a capture page, a review item, a
    results page, a printout), which lists the image: the image is seen under that entry, so
    serving it writes none of its own. Without such an entry of the user's own, recent enough,
    the image is refused (:class:`ImageRefused`). Raises :class:`ImageUnavailable` (no such
    image, or it no longer decrypts) and ``image_files.DayKeyDestroyed`` (purged with its day's
    key).
    """
    field = IMAGE_KINDS.get(kind)
    if field is None:
        raise ImageUnavailable("No such image.")
    capture = visible_captures(agency).filter(pk=capture_id).only("pk", field, "key_day").first()
    name = getattr(capture, field, "") if capture is not None else ""
    if capture is None or not name:
        raise ImageUnavailable("No such image.")
    if page_entry_for_image(user=request.user, view_id=view_id, capture=capture, kind=kind) is None:
        raise ImageRefused(
            "Images are shown only on the page that lists them (search results, the capture "
            "page, the review queue or a printout), under that page's access-log entry: open "
            "the read from there."
        )
    try:
        data = image_files.load_image(name)
    except image_files.DayKeyDestroyed:
        raise
    except image_files.ImageDecryptError as exc:
        logger.error("image %s of capture %s cannot be decrypted: %s", kind, capture.pk, exc)
        raise ImageUnavailable("This image can no longer be decrypted.") from None
    content_type = content_type_of(data)
    extension = EXTENSIONS.get(content_type, "bin")
    return ServedImage(
        data=data,
        content_type=content_type,
        filename=f"capture-{capture.pk}-{kind}.{extension}",
    )
