"""Reads of the disclosure register: the register's filters, the captures a disclosure is
prepared from (the user's own logged searches), and the figures of the transparency page."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from audit.models import AccessEvent, Action, Outcome
from audit.selectors import local_day_start
from captures.holds.selectors import held_capture_ids
from captures.models import Capture
from captures.releases.models import Disclosure, EvidencePackage, LegalBasis
from captures.retention.selectors import visible_captures
from captures.search.query import PatternError
from captures.search.selectors import capture_search, logged_query, search_event_for
from tenants.models import Agency
from tenants.people.roles import Role, has_role

CONFIRMED = (Capture.Review.CONFIRMED, Capture.Review.CORRECTED)
MAX_CAPTURES = 2000  # one disclosure; a larger release is several, each approved


def confirmed_captures(agency: Agency) -> QuerySet[Capture]:
    """Reads a person confirmed or corrected, within retention: only these are released."""
    return visible_captures(agency).filter(review_status__in=CONFIRMED)


def captures_of_search(
    *, agency: Agency, user: AbstractBaseUser | AnonymousUser, search_id: Any
) -> tuple[AccessEvent | None, list[Capture]]:
    """The confirmed results of the user's own allowed search, as it was run (nothing new is
    logged: the search was, with its purpose)."""
    event = search_event_for(user=user, event_id=search_id)
    if event is None:
        return None, []
    return event, _search_results(agency, event)


def _search_results(agency: Agency, event: AccessEvent) -> list[Capture]:
    query, as_of, _capped = logged_query(event)
    try:
        results = capture_search(agency=agency, query=query, as_of=as_of)
    except PatternError:
        return []
    return list(results.filter(review_status__in=CONFIRMED)[:MAX_CAPTURES])


def captures_of_case(
    *, agency: Agency, user: AbstractBaseUser | AnonymousUser, case_number: str
) -> tuple[list[AccessEvent], list[Capture]]:
    """The confirmed results of the user's own allowed searches for ``case_number``."""
    case_number = case_number.strip()
    if not case_number or not user.is_authenticated:
        return [], []
    searches = list(
        AccessEvent.objects.filter(
            action=Action.SEARCH,
            outcome=Outcome.ALLOWED,
            actor_id=user.pk,
            case_number=case_number,
        ).order_by("-id")[:50]
    )
    found: dict[uuid.UUID, Capture] = {}
    for event in searches:
        for capture in _search_results(agency, event):
            found.setdefault(capture.pk, capture)
    ordered = sorted(found.values(), key=lambda c: c.captured_at, reverse=True)
    return searches, ordered[:MAX_CAPTURES]


def kept_captures(agency: Agency) -> QuerySet[Capture]:
    """Captures still kept: within retention, or past it under an active legal hold (a
    disclosure approved before its reads expired is still released whole while they are held)."""
    return Capture.objects.filter(
        Q(pk__in=visible_captures(agency).values("pk")) | Q(pk__in=held_capture_ids())
    )


def released_captures(*, agency: Agency, disclosure: Disclosure) -> QuerySet[Capture]:
    """The disclosure's captures still kept (the purge may have taken some)."""
    return (
        kept_captures(agency)
        .filter(pk__in=disclosure.capture_ids)
        .select_related("camera")
        .order_by("captured_at", "id")
    )


def disclosure_visible_to(user: Any, disclosure: Disclosure) -> bool:
    """Auditors and Administrators see every disclosure; an Officer only their own."""
    if has_role(user, Role.AUDITOR, Role.ADMINISTRATOR):
        return True
    return bool(disclosure.prepared_by_id == user.pk)


def disclosures_for(user: Any) -> QuerySet[Disclosure]:
    qs = Disclosure.objects.all()
    if not has_role(user, Role.AUDITOR, Role.ADMINISTRATOR):
        qs = qs.filter(prepared_by_id=user.pk)
    return qs


def disclosures_filtered(
    qs: QuerySet[Disclosure], *, filters: Mapping[str, Any], tz: zoneinfo.ZoneInfo
) -> QuerySet[Disclosure]:
    """The register with the list page's filters (empty values are ignored)."""
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("legal_basis"):
        qs = qs.filter(legal_basis=filters["legal_basis"])
    if filters.get("recipient_type") == "public":
        qs = qs.filter(recipient_is_public_agency=True)
    elif filters.get("recipient_type") == "other":
        qs = qs.filter(recipient_is_public_agency=False)
    if filters.get("case_number"):
        qs = qs.filter(case_number=filters["case_number"].strip())
    if filters.get("recipient"):
        text = filters["recipient"].strip()
        qs = qs.filter(
            Q(recipient_organisation__icontains=text) | Q(recipient_person__icontains=text)
        )
    if filters.get("user"):
        name = filters["user"].strip()
        qs = qs.filter(Q(prepared_by_username=name) | Q(decided_by_username=name))
    if filters.get("start"):
        qs = qs.filter(prepared_at__gte=local_day_start(filters["start"], tz))
    if filters.get("end"):
        end = local_day_start(filters["end"] + datetime.timedelta(days=1), tz)
        qs = qs.filter(prepared_at__lt=end)
    return qs.order_by("-id")


def latest_package(disclosure: Disclosure) -> EvidencePackage | None:
    return disclosure.packages.order_by("-id").first()


def print_disclosure(*, user: Any, disclosure_id: Any, capture_id: uuid.UUID) -> Disclosure | None:
    """An approved print disclosure that covers ``capture_id`` and that ``user`` prepared
    or may see; None otherwise."""
    try:
        pk = int(disclosure_id)
    except (TypeError, ValueError):
        return None
    disclosure = Disclosure.objects.filter(
        pk=pk,
        status=Disclosure.Status.APPROVED,
        medium=Disclosure.Medium.PRINT,
        capture_ids__contains=[capture_id],
    ).first()
    if disclosure is None or not disclosure_visible_to(user, disclosure):
        return None
    return disclosure


# --- the transparency page -----------------------------------------------------------------


@dataclass(frozen=True)
class DisclosureCount:
    label: str
    count: int


@dataclass(frozen=True)
class DisclosureFigures:
    approved: int
    refused: int
    by_legal_basis: list[DisclosureCount]
    by_recipient_type: list[DisclosureCount]


def _labelled(rows: Iterable[Any], key: str, labels: Mapping[Any, str]) -> list[DisclosureCount]:
    return [
        DisclosureCount(label=labels.get(row[key], str(row[key])), count=row["n"]) for row in rows
    ]


def disclosure_figures(*, since: datetime.datetime) -> DisclosureFigures:
    """Approved releases since ``since`` by legal basis and recipient type, and refusals.

    Counts only: no recipient, case or capture is named."""
    window = Disclosure.objects.filter(decided_at__gte=since)
    approved = window.filter(status=Disclosure.Status.APPROVED)
    by_basis = approved.values("legal_basis").annotate(n=Count("id")).order_by("-n", "legal_basis")
    by_type = (
        approved.values("recipient_is_public_agency")
        .annotate(n=Count("id"))
        .order_by("-recipient_is_public_agency")
    )
    return DisclosureFigures(
        approved=approved.count(),
        refused=window.filter(status=Disclosure.Status.REFUSED).count(),
        by_legal_basis=_labelled(by_basis, "legal_basis", dict(LegalBasis.choices)),
        by_recipient_type=_labelled(
            by_type,
            "recipient_is_public_agency",
            {True: "Public agencies", False: "Others (not public agencies)"},
        ),
    )
