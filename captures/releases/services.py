"""The disclosure register's workflow: prepare, approve or refuse, build and hand out packages.

Each step writes its access-log entry in the transaction of the change it records
(``disclosure_prepared``, ``disclosure_approved``, ``disclosure_refused``, ``export``;
``package_built`` in ``captures/releases/package.py``). Refused attempts (a release to a
recipient the agency's rule forbids, an Administrator approving their own release) are
logged with outcome refused and change nothing else.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from audit.services import record_event
from captures.releases.models import Disclosure, EvidencePackage, LegalBasis, ReleasedField
from captures.releases.selectors import MAX_CAPTURES, confirmed_captures
from tenants.models import Agency
from tenants.people.roles import Role, has_role
from tenants.schemas import current_schema

BUILD_TASK = "captures.releases.build_package"  # captures/releases/tasks.py
PUBLIC_ONLY_REFUSAL = (
    "This agency releases plate data only to public agencies (its policy, as California law "
    "requires): the recipient is not a public agency, so the release cannot be recorded."
)


class DisclosureError(Exception):
    """A step of the workflow that cannot be taken; the message says why and what to do."""


@dataclass(frozen=True)
class DisclosureInput:
    recipient_person: str
    recipient_organisation: str
    recipient_is_public_agency: bool
    recipient_jurisdiction: str
    legal_basis: str
    requester: str
    case_number: str
    justification: str
    fields_released: Sequence[str]
    medium: str = Disclosure.Medium.PACKAGE
    source: str = ""


def _basis_label(value: str) -> str:
    return str(dict(LegalBasis.choices).get(value, value))


def _summary(disclosure: Disclosure) -> dict[str, Any]:
    """What an entry says about a disclosure: never a plate."""
    return {
        "disclosure_id": disclosure.pk,
        "recipient_organisation": disclosure.recipient_organisation,
        "recipient_is_public_agency": disclosure.recipient_is_public_agency,
        "recipient_jurisdiction": disclosure.recipient_jurisdiction,
        "legal_basis": disclosure.legal_basis,
        "medium": disclosure.medium,
        "fields": list(disclosure.fields_released),
        "capture_count": disclosure.capture_count,
    }


def public_only_problem(*, agency: Agency, recipient_is_public_agency: bool) -> str:
    if agency.disclose_only_to_public_agencies and not recipient_is_public_agency:
        return PUBLIC_ONLY_REFUSAL
    return ""


def _chosen_ids(capture_ids: Iterable[Any]) -> list[uuid.UUID]:
    chosen: list[uuid.UUID] = []
    for raw in capture_ids:
        try:
            value = raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
        except ValueError:
            raise DisclosureError(f"{str(raw)[:40]!r} is not a capture id.") from None
        if value not in chosen:
            chosen.append(value)
    return chosen


def _input_problem(data: DisclosureInput, ids: list[uuid.UUID]) -> str:
    if not ids:
        return "Choose at least one capture to release."
    if len(ids) > MAX_CAPTURES:
        return f"One disclosure releases at most {MAX_CAPTURES} captures; split the release."
    if data.medium == Disclosure.Medium.PRINT and len(ids) != 1:
        return "A printout releases exactly one read."
    if data.legal_basis not in LegalBasis.values:
        return "Choose the legal basis of the release."
    unknown = set(data.fields_released) - set(ReleasedField.values)
    if not data.fields_released or unknown:
        return "Choose what is released (at least one kind of data)."
    return ""


def disclosure_prepare(
    *,
    request: HttpRequest,
    agency: Agency,
    data: DisclosureInput,
    capture_ids: Iterable[Any],
) -> Disclosure:
    """Record a release waiting for a different Administrator's approval.

    Only confirmed reads within retention are released. Raises :class:`DisclosureError`;
    a recipient the agency's public-agencies rule forbids is also logged as refused.
    """
    ids = _chosen_ids(capture_ids)
    problem = _input_problem(data, ids)
    if problem:
        raise DisclosureError(problem)
    refusal = public_only_problem(
        agency=agency, recipient_is_public_agency=data.recipient_is_public_agency
    )
    if refusal:
        with transaction.atomic():
            record_event(
                action=Action.DISCLOSURE_PREPARED,
                request=request,
                outcome=Outcome.REFUSED,
                reason=refusal,
                purpose_category=_basis_label(data.legal_basis),
                case_number=data.case_number,
                details={
                    "recipient_organisation": data.recipient_organisation,
                    "recipient_is_public_agency": False,
                    "capture_count": len(ids),
                },
            )
        raise DisclosureError(refusal)
    with transaction.atomic():
        found = set(confirmed_captures(agency).filter(pk__in=ids).values_list("pk", flat=True))
        missing = [i for i in ids if i not in found]
        if missing:
            raise DisclosureError(
                f"{len(missing)} of the chosen captures cannot be released: only reads a person "
                "confirmed or corrected, and still within retention, can leave the agency."
            )
        disclosure = Disclosure.objects.create(
            medium=data.medium,
            recipient_person=data.recipient_person.strip(),
            recipient_organisation=data.recipient_organisation.strip(),
            recipient_is_public_agency=data.recipient_is_public_agency,
            recipient_jurisdiction=data.recipient_jurisdiction.strip().upper(),
            legal_basis=data.legal_basis,
            requester=data.requester.strip(),
            case_number=data.case_number.strip(),
            justification=data.justification.strip(),
            capture_ids=ids,
            capture_count=len(ids),
            fields_released=[f for f in ReleasedField.values if f in set(data.fields_released)],
            source=data.source[:200],
            prepared_by_id=cast(int, request.user.pk),
            prepared_by_username=request.user.get_username(),
        )
        record_event(
            action=Action.DISCLOSURE_PREPARED,
            request=request,
            purpose_category=_basis_label(disclosure.legal_basis),
            purpose_text=disclosure.justification,
            case_number=disclosure.case_number,
            objects=[("disclosure", disclosure.pk), *(("capture", i) for i in ids)],
            details=_summary(disclosure),
        )
    return disclosure


def _decision_problem(
    *, user: Any, agency: Agency, disclosure: Disclosure, approve: bool, reason: str
) -> str:
    if not has_role(user, Role.ADMINISTRATOR):
        return "Only an Administrator can approve or refuse a release."
    if disclosure.prepared_by_id == user.pk:
        return (
            "You prepared this release: a different Administrator must approve or refuse it "
            "(two people for every release)."
        )
    if disclosure.status != Disclosure.Status.PREPARED:
        return (
            f"This release was already {disclosure.get_status_display().lower()} by "
            f"{disclosure.decided_by_username}."
        )
    if not approve and not reason.strip():
        return "Say why the release is refused; the reason goes into the register."
    if approve:
        return public_only_problem(
            agency=agency, recipient_is_public_agency=disclosure.recipient_is_public_agency
        )
    return ""


def disclosure_decide(
    *,
    request: HttpRequest,
    agency: Agency,
    disclosure_id: int,
    approve: bool,
    reason: str = "",
) -> Disclosure:
    """Approve or refuse a prepared release, as an Administrator other than its preparer.

    A decision that is not allowed is logged as refused and raises :class:`DisclosureError`.
    """
    user = request.user
    action = Action.DISCLOSURE_APPROVED if approve else Action.DISCLOSURE_REFUSED
    with transaction.atomic():
        disclosure = Disclosure.objects.select_for_update().filter(pk=disclosure_id).first()
        if disclosure is None:
            raise DisclosureError("No such disclosure.")
        problem = _decision_problem(
            user=user, agency=agency, disclosure=disclosure, approve=approve, reason=reason
        )
        if not problem:
            disclosure.status = Disclosure.Status.APPROVED if approve else Disclosure.Status.REFUSED
            disclosure.decided_by_id = user.pk
            disclosure.decided_by_username = user.get_username()
            disclosure.decided_at = timezone.now()
            disclosure.refusal_reason = "" if approve else reason.strip()
            disclosure.save(
                update_fields=[
                    "status", "decided_by_id", "decided_by_username", "decided_at",
                    "refusal_reason",
                ]
            )  # fmt: skip
        record_event(
            action=action,
            request=request,
            outcome=Outcome.REFUSED if problem else Outcome.ALLOWED,
            reason=problem or ("" if approve else reason.strip()),
            purpose_category=_basis_label(disclosure.legal_basis),
            case_number=disclosure.case_number,
            objects=[("disclosure", disclosure.pk)],
            details={**_summary(disclosure), "prepared_by": disclosure.prepared_by_username},
        )
    if problem:
        raise DisclosureError(problem)
    return disclosure


def may_handle_package(user: Any, disclosure: Disclosure) -> bool:
    """The preparer and the agency's Administrators build and download packages."""
    return bool(disclosure.prepared_by_id == user.pk or has_role(user, Role.ADMINISTRATOR))


def package_request(
    *, request: HttpRequest, agency: Agency, disclosure: Disclosure
) -> EvidencePackage:
    """Queue the build of an evidence package for an approved disclosure (one at a time)."""
    if disclosure.status != Disclosure.Status.APPROVED:
        raise DisclosureError("An evidence package is built only from an approved disclosure.")
    if disclosure.medium != Disclosure.Medium.PACKAGE:
        raise DisclosureError("This disclosure is a printout; print it from its page.")
    if not may_handle_package(request.user, disclosure):
        raise DisclosureError("Only the preparer or an Administrator builds the package.")
    with transaction.atomic():
        Disclosure.objects.select_for_update().filter(pk=disclosure.pk).first()
        running = disclosure.packages.filter(
            status__in=[EvidencePackage.Status.QUEUED, EvidencePackage.Status.BUILDING]
        ).first()
        if running is not None:
            return running
        package = EvidencePackage.objects.create(
            disclosure=disclosure,
            total=disclosure.capture_count,
            requested_by_id=cast(int, request.user.pk),
            requested_by_username=request.user.get_username(),
        )
        transaction.on_commit(
            functools.partial(_send_build, current_schema(), agency.pk, package.pk)
        )
    return package


def _send_build(schema: str, agency_id: int, package_id: int) -> None:
    with schema_context(schema):
        current_app.send_task(
            BUILD_TASK, args=(agency_id, package_id), queue=settings.ALPR_PACKAGE_QUEUE or None
        )


def package_path(package: EvidencePackage) -> Path:
    return Path(settings.ALPR_PACKAGE_DIR) / current_schema() / package.file_name


def package_download(*, request: HttpRequest, package: EvidencePackage) -> Path:
    """The ready package's file, its download logged as ``export`` (before the file is sent)."""
    disclosure = package.disclosure
    if not may_handle_package(request.user, disclosure):
        raise DisclosureError("Only the preparer or an Administrator downloads the package.")
    if package.status != EvidencePackage.Status.READY:
        raise DisclosureError("The package is not ready.")
    path = package_path(package)
    if not path.is_file():
        raise DisclosureError(
            "The package file is no longer kept on the server (removed after "
            f"{settings.ALPR_PACKAGE_KEEP_DAYS} days); build it again."
        )
    with transaction.atomic():
        record_event(
            action=Action.EXPORT,
            request=request,
            purpose_category=_basis_label(disclosure.legal_basis),
            case_number=disclosure.case_number,
            objects=[("disclosure", disclosure.pk), ("package", package.pk)],
            details={
                "format": "zip",
                "what": "evidence_package",
                "package_id": package.pk,
                "sha256": package.sha256,
                "capture_count": disclosure.capture_count,
            },
        )
    return path


def disclosure_view_log(
    *, request: HttpRequest, disclosure: Disclosure, shown: Sequence[Any]
) -> None:
    """The disclosure page shows the released reads to trained Officers and Administrators:
    one ``disclosure_viewed`` entry with the release's basis and case as its purpose."""
    with transaction.atomic():
        record_event(
            action=Action.DISCLOSURE_VIEWED,
            request=request,
            purpose_category=_basis_label(disclosure.legal_basis),
            purpose_text=disclosure.justification,
            case_number=disclosure.case_number,
            objects=[("disclosure", disclosure.pk), *(("capture", c.pk) for c in shown)],
            details={"disclosure_id": disclosure.pk, "captures_shown": len(shown)},
        )


# --- exports of the register -------------------------------------------------------------------

REGISTER_COLUMNS = [
    "id", "status", "medium", "legal_basis", "recipient_person", "recipient_organisation",
    "recipient_is_public_agency", "recipient_state", "requester", "case_number",
    "justification", "fields_released", "capture_count", "capture_ids", "prepared_by",
    "prepared_at_utc", "decided_by", "decided_at_utc", "refusal_reason",
]  # fmt: skip


def register_export(
    *, request: HttpRequest, fmt: str, qs: Any, active_filters: dict[str, Any]
) -> Iterator[list[Any]]:
    """Log an auditor's export of the register (``export``, the filters as its query) and
    give its rows. The entry is written before the file, as for the access log."""
    with transaction.atomic():
        record_event(
            action=Action.EXPORT,
            request=request,
            reason=f"Disclosure-register export ({fmt.upper()}).",
            query=active_filters,
            details={"format": fmt, "what": "disclosure_register", "filters": active_filters},
        )
    return register_rows(qs, schema_name=current_schema())


def _utc(moment: Any) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def register_rows(qs: Any, *, schema_name: str) -> Iterator[list[Any]]:
    """The register's rows, read in the agency's schema however late the response is sent."""
    with schema_context(schema_name):
        yield from _register_rows(qs)


def _register_rows(qs: Any) -> Iterator[list[Any]]:
    for d in qs.iterator(chunk_size=500):
        yield [
            d.pk, d.status, d.medium, d.legal_basis, d.recipient_person,
            d.recipient_organisation, "yes" if d.recipient_is_public_agency else "no",
            d.recipient_jurisdiction, d.requester, d.case_number, d.justification,
            " ".join(d.fields_released), d.capture_count,
            " ".join(str(i) for i in d.capture_ids), d.prepared_by_username,
            _utc(d.prepared_at), d.decided_by_username, _utc(d.decided_at), d.refusal_reason,
        ]  # fmt: skip
