"""The one way an image leaves storage: decrypted for a user of the agency, logged, not cached."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseGone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from audit.models import Action
from audit.services import record_event
from captures.ingest.images import content_type_of
from captures.retention.selectors import visible_captures
from captures.review import current_review_session
from captures.search import search_event_for
from captures.storage import image_files
from tenants.people.access import require_access
from tenants.people.roles import Role

logger = logging.getLogger(__name__)

IMAGE_KINDS = {"plate": "plate_image", "vehicle": "vehicle_image"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@require_GET
@require_access(Role.OFFICER, Role.ADMINISTRATOR, trained=True)
def capture_image(request: HttpRequest, capture_id: uuid.UUID, kind: str) -> HttpResponse:
    """``?search=<access-log id>`` links the view to the search that led to it, ``?review=<id>``
    to the review session (``details.source``: search, review or direct)."""
    field = IMAGE_KINDS.get(kind)
    if field is None:
        raise Http404("No such image.")
    capture = (
        visible_captures(request.tenant).filter(pk=capture_id).only("pk", field, "key_day").first()
    )
    name = getattr(capture, field, "") if capture is not None else ""
    if not name:
        raise Http404("No such image.")
    # Only the user's own allowed search, or the review session held in this sign-in
    # session, may be named as the reason for this view.
    related = search_event_for(user=request.user, event_id=request.GET.get("search"))
    source = "search" if related is not None else "direct"
    if related is None and request.GET.get("review"):
        session_event = current_review_session(request)
        if session_event is not None and str(session_event.pk) == request.GET["review"]:
            related, source = session_event, "review"
    try:
        data = image_files.load_image(name)
    except image_files.DayKeyDestroyed:
        gone = HttpResponseGone(
            "This image was destroyed with its day's encryption key (retention purge) and can "
            "no longer be shown.",
            content_type="text/plain; charset=utf-8",
        )
        patch_cache_control(gone, no_store=True)
        return gone
    except image_files.ImageDecryptError as exc:
        logger.error("image %s of capture %s cannot be decrypted: %s", kind, capture.pk, exc)
        raise Http404("This image can no longer be decrypted.") from None
    with transaction.atomic():
        record_event(
            action=Action.IMAGE_VIEWED,
            request=request,
            objects=[("capture", capture.pk)],
            related_event_id=related.pk if related is not None else None,
            details={"image": kind, "source": source},
        )
    content_type = content_type_of(data)
    response = HttpResponse(data, content_type=content_type)
    patch_cache_control(response, no_store=True, no_cache=True, private=True, max_age=0)
    response["Pragma"] = "no-cache"
    response["Content-Disposition"] = (
        f'inline; filename="capture-{capture.pk}-{kind}.{EXTENSIONS.get(content_type, "bin")}"'
    )
    return response
