"""Reads of shared data: the owner's captures a grant lets the recipient see, queried in the
owner's own schema (never copied), and the checks of the owner's rules at search time.

Every function here that touches captures names the owner's schema itself and returns plain
values. A search of several owners reads them all in one statement each for their prohibited
terms and for their reads (``tenants.schemas.rows_in_schemas``: every part on its own schema's
tables and indexes), not one search-path switch and query per owner.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import QuerySet
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from captures.models import Camera, Capture, ProhibitedTerm
from captures.retention.selectors import visible_captures
from captures.search.query import SearchQuery
from captures.search.selectors import capture_search, prohibited_terms_in
from tenants.models import Agency
from tenants.schemas import current_schema, rows_in_schemas
from tenants.sharing.laws import profile_of
from tenants.sharing.models import Grant
from tenants.sharing.selectors import grant_in_force, grants_in_force, law_problems

SHARED_ROWS_LIMIT = 200


def in_schema_of(agency: Agency) -> contextlib.AbstractContextManager[Any]:
    """The agency's schema, switched to only when the connection is elsewhere: each switch
    costs a ``SET search_path`` round trip, there and back."""
    if current_schema() == agency.schema_name:
        return contextlib.nullcontext()
    switched: contextlib.AbstractContextManager[Any] = schema_context(agency.schema_name)
    return switched


# What the results table shows of another agency's read (fewer columns to fetch and build):
# the capture's columns, in the model's order, then its camera's name.
RESULT_FIELDS = tuple(
    field.attname
    for field in Capture._meta.concrete_fields
    if field.attname in {
        "id", "captured_at", "plate", "state", "machine_confidence", "review_status",
        "reviewed_by_username", "latitude", "longitude", "camera_id",
    }
)  # fmt: skip
TERM_FIELDS = tuple(field.attname for field in ProhibitedTerm._meta.concrete_fields)


def _read_of(row: Sequence[Any], owner: Agency) -> Capture:
    """A shown read built from a row of ``RESULT_FIELDS`` + the camera's name, as ``only()``
    would build it (the other fields deferred), marked with its owner."""
    *values, camera_name = row
    capture = Capture.from_db("default", RESULT_FIELDS, values)
    capture.camera = Camera.from_db("default", ("id", "name"), (capture.camera_id, camera_name))
    capture.owner = owner  # type: ignore[attr-defined]
    return capture


@dataclass(frozen=True)
class OwnerCheck:
    """Whether the owner's rules let this search read its data, and why not."""

    problems: list[str]
    law_no_longer_allows: bool = False

    @property
    def allowed(self) -> bool:
        return not self.problems


def owner_terms(grants: Sequence[Grant]) -> list[list[ProhibitedTerm]]:
    """Each grant's owner's prohibited terms, read from the owners' schemas in one statement."""
    parts = [
        (grant.owner.schema_name, ProhibitedTerm.objects.order_by("id").values_list(*TERM_FIELDS))
        for grant in grants
    ]
    return [
        [ProhibitedTerm.from_db("default", TERM_FIELDS, row) for row in rows]
        for rows in rows_in_schemas(parts)
    ]


def owner_check(
    *,
    grant: Grant,
    query: SearchQuery,
    purpose_name: str,
    purpose_text: str,
    case_number: str,
    terms: Sequence[ProhibitedTerm] | None = None,
) -> OwnerCheck:
    """The owner's law profile (as the agencies are now) and prohibited purposes (its own and
    its law's). ``terms``: the owner's prohibited terms (``owner_terms``); without them, call
    in the owner's schema. A term the owner forbids is refused even when the recipient allows
    it."""
    owner = grant.owner
    law = law_problems(grant)
    if law:
        reason = f"{owner.name}'s sharing law profile no longer allows this grant: {' '.join(law)}"
        return OwnerCheck(problems=[reason], law_no_longer_allows=True)
    problems: list[str] = []
    if not query.plate:
        problems.append(f"{owner.name}'s data is searched by plate only: give a plate.")
    texts = (purpose_text, case_number, purpose_name)
    for term in profile_of(owner).forbidden_in(*texts):
        problems.append(
            f"The law {owner.name} follows ({profile_of(owner).name}) forbids sharing its data "
            f"for “{term}”."
        )
    for prohibited in prohibited_terms_in(*texts, terms=terms):
        why = f" ({prohibited.reason})" if prohibited.reason else ""
        problems.append(f"{owner.name} prohibits searches for “{prohibited.term}”{why}.")
    return OwnerCheck(problems=problems)


def grant_window(grant: Grant, *, as_of: datetime.datetime) -> datetime.datetime:
    """The earliest capture time the grant lets the recipient see."""
    days = min(grant.days_back, grant.owner.retention_days)
    return as_of - datetime.timedelta(days=days)


def shared_query(grant: Grant, query: SearchQuery, *, as_of: datetime.datetime) -> SearchQuery:
    """The recipient's query as run in the owner's schema: the grant's cameras (the recipient's
    camera choice names its own cameras) and no further back than the grant allows."""
    earliest = grant_window(grant, as_of=as_of)
    start = max(query.start, earliest) if query.start else earliest
    cameras: Sequence[int] = () if grant.all_cameras else tuple(grant.camera_ids)
    return replace(query, start=start, camera_ids=tuple(cameras))


def _in_scope(
    grant: Grant, qs: QuerySet[Capture], *, as_of: datetime.datetime
) -> QuerySet[Capture]:
    qs = qs.filter(captured_at__gte=grant_window(grant, as_of=as_of))
    if not grant.all_cameras:
        qs = qs.filter(camera_id__in=list(grant.camera_ids))
    return qs


@dataclass(frozen=True)
class SharedReads:
    """One owner's part of a search's results: its reads (newest first, at most a limit)."""

    owner: Agency
    grant_id: int
    event_id: int | None  # the owner's log entry of this search
    count: int
    reads: list[Capture]
    problems: list[str]

    @property
    def refused(self) -> bool:
        return bool(self.problems)


def shared_reads_many(
    *,
    grants: Sequence[Grant],
    query: SearchQuery,
    as_of: datetime.datetime,
    limit: int = SHARED_ROWS_LIMIT,
) -> list[tuple[int, list[Capture]]]:
    """Each grant's owner's reads matching ``query`` under the grant (count, newest first, at
    most ``limit``), every owner queried on its own schema's tables, all in one statement.

    An owner with more than ``limit`` matches is counted in a statement of its own (rare for
    the plate searches shared data allows)."""
    if not query.plate:
        return [(0, []) for _ in grants]

    def in_scope(grant: Grant) -> QuerySet[Capture]:
        return _in_scope(
            grant,
            capture_search(
                agency=grant.owner, query=shared_query(grant, query, as_of=as_of), as_of=as_of
            ),
            as_of=as_of,
        )

    parts = [
        (grant.owner.schema_name, in_scope(grant).values_list(*RESULT_FIELDS, "camera__name"))
        for grant in grants
    ]
    limited = [(schema, qs[: limit + 1]) for schema, qs in parts]
    out: list[tuple[int, list[Capture]]] = []
    for grant, rows in zip(grants, rows_in_schemas(limited), strict=True):
        count = len(rows)
        if count > limit:
            with in_schema_of(grant.owner):
                count = in_scope(grant).count()
        out.append((count, [_read_of(row, grant.owner) for row in rows[:limit]]))
    return out


def shared_reads(
    *, grant: Grant, query: SearchQuery, as_of: datetime.datetime, limit: int = SHARED_ROWS_LIMIT
) -> tuple[int, list[Capture]]:
    """The owner's reads matching ``query`` under the grant, in the owner's schema."""
    (found,) = shared_reads_many(grants=[grant], query=query, as_of=as_of, limit=limit)
    return found


def shared_capture(
    *, grant: Grant, capture_id: uuid.UUID, as_of: datetime.datetime
) -> Capture | None:
    """One capture of the owner within the grant's scope and the owner's retention."""
    with in_schema_of(grant.owner):
        qs = _in_scope(grant, visible_captures(grant.owner).select_related("camera"), as_of=as_of)
        return qs.filter(pk=capture_id).first()


def shared_entry(event: AccessEvent, owner: Agency) -> dict[str, Any] | None:
    """The part of a recipient's search entry about ``owner``: allowed, with the owner's event."""
    details = event.details if isinstance(event.details, dict) else {}
    for part in details.get("shared") or ():
        if isinstance(part, dict) and part.get("agency") == owner.slug:
            return part if part.get("outcome") == "allowed" else None
    return None


def granting_agency(*, recipient: Agency, slug: str) -> Grant | None:
    """The grant in force from the agency ``slug`` to ``recipient``, else None."""
    owner = Agency.objects.exclude(schema_name="public").filter(slug=slug).first()
    if owner is None or owner.pk == recipient.pk:
        return None
    return grant_in_force(owner=owner, recipient=recipient)


def searched_owners(event: AccessEvent) -> list[str]:
    """The slugs of the agencies whose data a logged search read (allowed parts only)."""
    details = event.details if isinstance(event.details, dict) else {}
    return [
        str(part["agency"])
        for part in details.get("shared") or ()
        if isinstance(part, dict) and part.get("outcome") == "allowed" and part.get("agency")
    ]


def shared_results_again(
    *, recipient: Agency, event: AccessEvent, query: SearchQuery, as_of: datetime.datetime
) -> list[SharedReads]:
    """A logged search's shared part shown again, from each owner's schema, as of the moment
    it ran; an owner whose grant has since ended or been revoked shows nothing. The owners
    still searchable are read in one statement (``shared_reads_many``)."""
    out: list[SharedReads | None] = []
    details = event.details if isinstance(event.details, dict) else {}
    in_force = {grant.owner.slug: grant for grant in grants_in_force(recipient=recipient)}
    to_read: list[tuple[int, Grant, Any]] = []  # (place in ``out``, grant, its event id)
    for part in details.get("shared") or ():
        if not isinstance(part, dict):
            continue
        slug = str(part.get("agency") or "")
        grant = in_force.get(slug)
        owner = grant.owner if grant is not None else Agency.objects.filter(slug=slug).first()
        if owner is None:
            continue
        if grant is None:
            problems = [f"{owner.name} no longer shares its data with {recipient.name}."]
            out.append(SharedReads(owner, 0, part.get("event_id"), 0, [], problems))
            continue
        refused = [str(part.get("reason"))] if part.get("outcome") != "allowed" else []
        law = law_problems(grant)
        if refused or law:
            why = refused or [f"{owner.name}'s sharing law profile no longer allows this grant."]
            out.append(SharedReads(owner, grant.pk, part.get("event_id"), 0, [], why))
            continue
        to_read.append((len(out), grant, part.get("event_id")))
        out.append(None)
    found = shared_reads_many(grants=[grant for _, grant, _ in to_read], query=query, as_of=as_of)
    for (place, grant, event_id), (count, reads) in zip(to_read, found, strict=True):
        out[place] = SharedReads(grant.owner, grant.pk, event_id, count, reads, [])
    return [part for part in out if part is not None]
