"""Writes of sharing on the captures side: a search that also reads granting agencies' data,
shared capture pages and images, and an offer whose cameras are checked in the owner's schema.

One search of shared data writes one entry in the searcher's log (``search``, whose
``details.shared`` says what each owner answered) and one ``external_search`` entry in each
owner's log, naming each other (``tenants.sharing.links``), in one transaction with the
chain locks of every log taken in one order first. The owners are checked, read and logged
in a fixed number of statements, however many they are (``_owner_parts``).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit import chain
from audit.models import AccessEvent, Action, Flag, FlagKind, Outcome
from audit.services import Actor, record_events
from captures.ingest.images import content_type_of
from captures.models import AuthorizedPurpose, Camera, Capture
from captures.search.query import SearchQuery
from captures.search.selectors import purpose_findings
from captures.search.services import SearchRun, search_run
from captures.sharing.selectors import (
    OwnerCheck,
    SharedReads,
    owner_check,
    owner_terms,
    shared_capture,
    shared_entry,
    shared_query,
    shared_reads_many,
)
from captures.storage import image_files
from tenants.models import Agency
from tenants.sharing.links import Entry, ExternalActor, link_details, lock_logs, record_linked
from tenants.sharing.models import Grant
from tenants.sharing.selectors import law_problems
from tenants.sharing.services import SharingError, grant_flag, grant_offer

IMAGE_KINDS = {"plate": "plate_image", "vehicle": "vehicle_image"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class ImageUnavailable(Exception):
    """No such image to show (a 404)."""


@dataclass(frozen=True)
class ServedImage:
    data: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class SharedSearchRun:
    run: SearchRun
    shared: list[SharedReads] = field(default_factory=list)


def _owner_entry(
    *,
    grant: Grant,
    check: OwnerCheck,
    found: tuple[int, list[Capture]],
    searcher: Agency,
    username: str,
    purpose: AuthorizedPurpose,
    purpose_text: str,
    case_number: str,
    query: SearchQuery,
    as_of: datetime.datetime,
    hub_link: Mapping[str, Any],
) -> dict[str, Any]:
    """The owner's ``external_search`` entry (``record_event``'s arguments): who searched,
    for what, what the owner's rules answered and how many of its reads were found."""
    return {
        "action": Action.EXTERNAL_SEARCH,
        "outcome": Outcome.ALLOWED if check.allowed else Outcome.REFUSED,
        "reason": " ".join(check.problems),
        "actor": ExternalActor(agency_slug=searcher.slug, username=username),
        "purpose_category": purpose.name,
        "purpose_text": purpose_text,
        "case_number": case_number,
        "query": shared_query(grant, query, as_of=as_of).as_log(),
        "objects": [("grant", grant.pk)],
        "details": {
            **link_details([hub_link]),
            "searcher_agency": searcher.slug,
            "searcher_username": username,
            "grant_id": grant.pk,
            "result_count": found[0],
            "as_of": as_of.isoformat(),
        },
    }


def _flag_grant(*, grant: Grant, check: OwnerCheck, event: AccessEvent) -> None:
    """A grant the owner's law no longer allows: flagged for the owner's auditors (on the
    entry, in the owner's schema) and on the grant (which then stops working)."""
    with schema_context(grant.owner.schema_name):
        Flag.objects.create(
            event_id=event.pk,
            kind=FlagKind.GRANT_NOT_ALLOWED,
            reason=check.problems[0],
            actor_username=event.actor_username,
            event_at=event.occurred_at,
        )
    grant_flag(grant=grant, reason=check.problems[0])


def _owner_parts(
    *,
    ordered: Sequence[Grant],
    request: HttpRequest,
    searcher: Agency,
    purpose: AuthorizedPurpose,
    purpose_text: str,
    case_number: str,
    query: SearchQuery,
    as_of: datetime.datetime,
) -> tuple[int, list[SharedReads]]:
    """Every owner's checks, reads and ``external_search`` entry, in the caller's transaction,
    in a number of statements that does not grow with the owners: their prohibited terms (one
    statement), the reads of those whose rules allow the search (one), the chain locks of
    every log concerned (one), the ids and heads of those logs (one), the owners' entries (one).
    Returns the id drawn for the searcher's entry, which the caller writes under it.
    """
    checks = [
        owner_check(
            grant=grant,
            query=query,
            purpose_name=purpose.name,
            purpose_text=purpose_text,
            case_number=case_number,
            terms=terms,
        )
        for grant, terms in zip(ordered, owner_terms(ordered), strict=True)
    ]
    allowed = [grant for grant, check in zip(ordered, checks, strict=True) if check.allowed]
    read = dict(
        zip(
            [grant.pk for grant in allowed],
            shared_reads_many(grants=allowed, query=query, as_of=as_of),
            strict=True,
        )
    )
    # Every log's chain lock, in schema order, in one statement; then every log's ids.
    lock_logs([searcher, *(grant.owner for grant in ordered)])
    counts = {searcher.schema_name: 1, **{grant.owner.schema_name: 1 for grant in ordered}}
    heads = chain.draw_heads(counts)
    hub_id = heads[searcher.schema_name].ids[0]
    hub_link = {"agency": searcher.slug, "event_id": hub_id}
    username = request.user.get_username()
    events = record_events(
        [
            (
                grant.owner.schema_name,
                _owner_entry(
                    grant=grant,
                    check=check,
                    found=read.get(grant.pk, (0, [])),
                    searcher=searcher,
                    username=username,
                    purpose=purpose,
                    purpose_text=purpose_text,
                    case_number=case_number,
                    query=query,
                    as_of=as_of,
                    hub_link=hub_link,
                ),
            )
            for grant, check in zip(ordered, checks, strict=True)
        ],
        heads=heads,
    )
    parts = []
    for grant, check, event in zip(ordered, checks, events, strict=True):
        if check.law_no_longer_allows:
            _flag_grant(grant=grant, check=check, event=event)
        count, reads = read.get(grant.pk, (0, []))
        parts.append(SharedReads(grant.owner, grant.pk, event.pk, count, reads, check.problems))
    return hub_id, parts


def _shared_part(part: SharedReads) -> dict[str, Any]:
    return {
        "agency": part.owner.slug,
        "event_id": part.event_id,
        "grant_id": part.grant_id,
        "outcome": "refused" if part.refused else "allowed",
        "result_count": part.count,
        "reason": " ".join(part.problems),
    }


def search_run_shared(
    *,
    request: HttpRequest,
    agency: Agency,
    grants: Sequence[Grant],
    query: SearchQuery | None,
    typed_query: Mapping[str, Any],
    purpose: AuthorizedPurpose | None,
    purpose_text: str,
    case_number: str,
) -> SharedSearchRun:
    """``search_run``, also reading the data of the granting agencies in ``grants``.

    The searcher's own purpose gate decides first: refused there, no other agency's data is
    read (and nothing is written to their logs). Allowed, each owner's rules decide for its
    own data, and every log concerned gets its entry, naming the others.
    """

    def run(**extra: Any) -> SearchRun:
        return search_run(
            request=request,
            agency=agency,
            query=query,
            typed_query=typed_query,
            purpose=purpose,
            purpose_text=purpose_text,
            case_number=case_number,
            **extra,
        )

    text, case = purpose_text.strip()[:1000], case_number.strip()[:100]
    if (
        not grants
        or query is None
        or purpose is None
        or purpose_findings(agency=agency, purpose=purpose, purpose_text=text, case_number=case)
    ):
        return SharedSearchRun(run=run())
    as_of = timezone.now()
    capped, _ = query.capped(at=as_of)
    with transaction.atomic():
        hub_id, parts = _owner_parts(
            ordered=sorted(grants, key=lambda grant: grant.owner.schema_name),
            request=request,
            searcher=agency,
            purpose=purpose,
            purpose_text=text,
            case_number=case,
            query=capped,
            as_of=as_of,
        )
        links = [{"agency": part.owner.slug, "event_id": part.event_id} for part in parts]
        logged = run(
            as_of=as_of,
            entry_id=hub_id,
            extra_details={**link_details(links), "shared": [_shared_part(p) for p in parts]},
        )
    return SharedSearchRun(run=logged, shared=parts)


# --- a shared capture page and its images ------------------------------------------------


class SharedUnavailable(Exception):
    """Nothing to show under this grant and search (answered with a 404, saying why)."""


@dataclass(frozen=True)
class SharedView:
    grant: Grant
    capture: Capture
    search_event: AccessEvent


def _view_entries(
    *,
    request: HttpRequest,
    grant: Grant,
    capture: Capture,
    search_event: AccessEvent,
    action: Action,
    details: Mapping[str, Any],
) -> None:
    """The view in the searcher's log (``action``) and in the owner's (``external_view``)."""
    recipient, owner = grant.recipient, grant.owner
    purpose = {
        "purpose_category": search_event.purpose_category,
        "purpose_text": search_event.purpose_text,
        "case_number": search_event.case_number,
    }
    username = request.user.get_username()
    owner_part = shared_entry(search_event, owner) or {}
    record_linked(
        hub=Entry(
            agency=recipient,
            fields={
                "action": action,
                "request": request,
                **purpose,
                "query": search_event.query,
                "objects": [("capture", capture.pk)],
                "related_event_id": search_event.pk,
                "details": {
                    **details,
                    "source": "search",
                    "owner_agency": owner.slug,
                    "grant_id": grant.pk,
                    "plate": capture.plate,
                    "state": capture.state,
                },
            },
        ),
        spokes=[
            Entry(
                agency=owner,
                fields={
                    "action": Action.EXTERNAL_VIEW,
                    "actor": ExternalActor(agency_slug=recipient.slug, username=username),
                    **purpose,
                    "objects": [("capture", capture.pk)],
                    "related_event_id": owner_part.get("event_id"),
                    "details": {
                        **details,
                        "searcher_agency": recipient.slug,
                        "searcher_username": username,
                        "grant_id": grant.pk,
                        "plate": capture.plate,
                    },
                },
            )
        ],
    )


def _shared_capture_for(
    *, grant: Grant, capture_id: uuid.UUID, search_event: AccessEvent | None
) -> tuple[Capture, AccessEvent]:
    if search_event is None or shared_entry(search_event, grant.owner) is None:
        raise SharedUnavailable(
            f"Reads of {grant.owner.name} are opened from a search of yours that included it."
        )
    if law_problems(grant):  # the owner's law changed since the search: the grant stopped
        raise SharedUnavailable(
            f"{grant.owner.name}'s sharing law profile no longer allows this grant."
        )
    as_of = timezone.now()
    capture = shared_capture(grant=grant, capture_id=capture_id, as_of=as_of)
    if capture is None:
        raise SharedUnavailable(f"No such read of {grant.owner.name} under this grant.")
    return capture, search_event


def shared_capture_view(
    *,
    request: HttpRequest,
    grant: Grant,
    capture_id: uuid.UUID,
    search_event: AccessEvent | None,
) -> SharedView:
    """The owner's capture for the recipient's officer, logged in both logs."""
    capture, event = _shared_capture_for(
        grant=grant, capture_id=capture_id, search_event=search_event
    )
    with transaction.atomic():
        _view_entries(
            request=request,
            grant=grant,
            capture=capture,
            search_event=event,
            action=Action.CAPTURE_VIEWED,
            details={"page": "capture"},
        )
    return SharedView(grant=grant, capture=capture, search_event=event)


def shared_image_serve(
    *,
    request: HttpRequest,
    grant: Grant,
    capture_id: uuid.UUID,
    kind: str,
    search_event: AccessEvent | None,
) -> ServedImage:
    """Decrypt the owner's image, from the owner's storage under the owner's keys, and log it
    in both logs. Raises ``SharedUnavailable``, ``ImageUnavailable`` or ``DayKeyDestroyed``."""
    column = IMAGE_KINDS.get(kind)
    if column is None:
        raise ImageUnavailable("No such image.")
    capture, event = _shared_capture_for(
        grant=grant, capture_id=capture_id, search_event=search_event
    )
    name = getattr(capture, column, "")
    if not name:
        raise ImageUnavailable("No such image.")
    with schema_context(grant.owner.schema_name):
        try:
            data = image_files.load_image(name)
        except image_files.ImageDecryptError:
            raise ImageUnavailable("This image can no longer be decrypted.") from None
    with transaction.atomic():
        _view_entries(
            request=request,
            grant=grant,
            capture=capture,
            search_event=event,
            action=Action.IMAGE_VIEWED,
            details={"image": kind},
        )
    content_type = content_type_of(data)
    return ServedImage(
        data=data,
        content_type=content_type,
        filename=f"{grant.owner.slug}-{capture.pk}-{kind}.{EXTENSIONS.get(content_type, 'bin')}",
    )


# --- offers from the owner's side --------------------------------------------------------


def owner_camera_ids(*, owner: Agency, names_or_ids: Sequence[str]) -> list[int]:
    """The owner's cameras named by id or name, checked in the owner's schema."""
    with schema_context(owner.schema_name):
        found: list[int] = []
        for token in names_or_ids:
            token = str(token).strip()
            camera = None
            if token.isdigit():
                camera = Camera.objects.filter(pk=int(token)).first()
            camera = camera or Camera.objects.filter(name=token).first()
            if camera is None:
                raise SharingError(f"{owner.name} has no camera {token!r}.")
            found.append(camera.pk)
    return found


def grant_offer_checked(
    *,
    owner: Agency,
    recipient: Agency,
    ends_on: datetime.date,
    cameras: Sequence[str] | None = None,
    days_back: int | None = None,
    actor: Actor | None = None,
    username: str = "",
    request: HttpRequest | None = None,
) -> Grant:
    """``grant_offer`` with the cameras (ids or names; None: all) checked in the owner's schema."""
    camera_ids = owner_camera_ids(owner=owner, names_or_ids=cameras) if cameras else None
    return grant_offer(
        owner=owner,
        recipient=recipient,
        ends_on=ends_on,
        camera_ids=camera_ids,
        days_back=days_back,
        actor=actor,
        username=username,
        request=request,
    )
