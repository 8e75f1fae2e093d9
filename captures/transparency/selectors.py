"""Figures for an agency's public transparency page, computed from its own data.

Counts and dates only: no plate, name, image or location ever leaves this module.
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Count
from django.utils import timezone

from audit import checkpoint as audit_checkpoint
from audit.incidents.selectors import incidents_per_year
from audit.models import AccessEvent, Action, Outcome
from captures.holds.selectors import active_hold_count
from captures.models import Camera
from captures.releases import signing as evidence_signing
from captures.releases.selectors import DisclosureFigures, disclosure_figures
from captures.retention.selectors import visible_captures
from tenants.models import Agency

WINDOW_DAYS = 30
DISCLOSURE_WINDOW_DAYS = 365


@dataclass(frozen=True)
class PurposeCount:
    category: str
    count: int


@dataclass(frozen=True)
class YearCount:
    year: int
    count: int


@dataclass(frozen=True)
class PublishedCheckpoint:
    """The latest signed head of the agency's access log and the key that checks it."""

    algorithm: str
    public_key_pem: str
    public_key_base64: str
    key_id: str
    checkpoint: audit_checkpoint.Checkpoint | None
    problem: str = ""

    def as_json(self) -> dict[str, Any]:
        point = self.checkpoint
        return {
            "algorithm": self.algorithm,
            "public_key_pem": self.public_key_pem,
            "public_key": self.public_key_base64,
            "key_id": self.key_id,
            "checkpoint": point.record() if point else None,
            "signed_bytes": point.signed_bytes().decode() if point else None,
            "how_to_verify": (
                "The signature (base64) is Ed25519 over signed_bytes: the checkpoint without "
                "its signature as JSON with sorted keys, no spaces, UTF-8. Keep a copy; "
                "later, the agency's log must still contain entry head_id with hash head_hash "
                "(verify_audit_log --expect ID:HASH)."
            ),
        }


@dataclass(frozen=True)
class EvidenceKey:
    """The public key that checks the agency's evidence packages (manifest.sig)."""

    public_key_pem: str
    key_id: str


def evidence_key() -> EvidenceKey | None:
    """None until the agency signed its first package (a page view creates no key)."""
    key = evidence_signing.public_key(create=False)
    if key is None:
        return None
    return EvidenceKey(
        public_key_pem=evidence_signing.public_key_pem(key), key_id=evidence_signing.key_id(key)
    )


@dataclass(frozen=True)
class TransparencyFigures:
    window_days: int
    since: datetime.datetime
    retention_days: int
    active_cameras: int
    captures_in_window: int
    searches_in_window: int
    searches_by_purpose: list[PurposeCount]
    hotlists_in_use: bool
    hotlist_hits_in_window: int | None
    shared_with: list[str]
    last_purge_at: datetime.datetime | None
    last_audit_verification_at: datetime.datetime | None
    audit_checkpoint: PublishedCheckpoint | None = None
    active_holds: int = 0
    incidents_by_year: list[YearCount] = field(default_factory=list)
    disclosures: DisclosureFigures | None = None
    disclosure_window_days: int = DISCLOSURE_WINDOW_DAYS
    evidence_key: EvidenceKey | None = None


def _category_label(value: str) -> str:
    if not value:
        return "Not stated"
    if value == value.lower() and " " not in value:  # a code such as "stolen_vehicle"
        return value.replace("_", " ").replace("-", " ").capitalize()
    return value


# Hotlists are a later feature: until their model exists the figure is left out.
HOTLIST_HIT_MODEL = ("captures", "HotlistHit")


def _hotlist_hits(since: datetime.datetime) -> int | None:
    """Hits in the window when the agency runs hotlists; None when no hotlist feature exists."""
    try:
        hit_model = apps.get_model(*HOTLIST_HIT_MODEL)
    except LookupError:
        return None
    return int(hit_model.objects.filter(created_at__gte=since).count())


def _last_event_at(action: str) -> datetime.datetime | None:
    return (
        AccessEvent.objects.filter(action=action, outcome=Outcome.ALLOWED)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def last_successful_purge_at() -> datetime.datetime | None:
    """The end of the latest purge run that finished its work (partial runs don't count)."""
    return (
        AccessEvent.objects.filter(
            action=Action.PURGE, outcome=Outcome.ALLOWED, details__complete=True
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def published_checkpoint() -> PublishedCheckpoint | None:
    """The current schema's latest checkpoint for the public; None when no key is available.

    Reads the store and the key only: a page view never signs or writes anything.
    """
    try:
        key = audit_checkpoint.public_key()
    except audit_checkpoint.CheckpointError:
        return None
    problem = ""
    try:
        point = audit_checkpoint.latest_checkpoint()
    except audit_checkpoint.BadCheckpoint as bad:
        point, problem = None, bad.problem
    except audit_checkpoint.CheckpointError as exc:
        point, problem = None, str(exc)
    return PublishedCheckpoint(
        algorithm=audit_checkpoint.ALGORITHM,
        public_key_pem=audit_checkpoint.public_key_pem(key),
        public_key_base64=base64.b64encode(audit_checkpoint.public_key_raw(key)).decode(),
        key_id=audit_checkpoint.key_id(key),
        checkpoint=point,
        problem=problem,
    )


def transparency_figures(
    *, agency: Agency, now: datetime.datetime | None = None
) -> TransparencyFigures:
    """Run in the agency's schema (the request's tenant)."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=WINDOW_DAYS)
    searches = AccessEvent.objects.filter(
        action=Action.SEARCH, outcome=Outcome.ALLOWED, occurred_at__gte=since
    )
    by_purpose = [
        PurposeCount(category=_category_label(row["purpose_category"]), count=row["n"])
        for row in searches.values("purpose_category")
        .annotate(n=Count("id"))
        .order_by("-n", "purpose_category")
    ]
    hits = _hotlist_hits(since)
    return TransparencyFigures(
        window_days=WINDOW_DAYS,
        since=since,
        retention_days=agency.retention_days,
        active_cameras=Camera.objects.filter(active=True).count(),
        captures_in_window=visible_captures(agency, now=now).filter(captured_at__gte=since).count(),
        searches_in_window=sum(p.count for p in by_purpose),
        searches_by_purpose=by_purpose,
        hotlists_in_use=hits is not None,
        hotlist_hits_in_window=hits,
        shared_with=[],
        last_purge_at=last_successful_purge_at(),
        last_audit_verification_at=_last_event_at(Action.AUDIT_VERIFIED),
        audit_checkpoint=published_checkpoint(),
        active_holds=active_hold_count(now=now),
        incidents_by_year=[
            YearCount(year=year, count=n) for year, n in incidents_per_year(tz=agency.tz)
        ],
        evidence_key=evidence_key(),
        disclosures=disclosure_figures(since=now - datetime.timedelta(days=DISCLOSURE_WINDOW_DAYS)),
    )
