"""Reads of grants: which are in force, each agency's grants, and who shares with whom."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from tenants.models import Agency
from tenants.sharing.laws import profile_of
from tenants.sharing.models import Grant


def _today() -> datetime.date:
    # The earliest calendar day anywhere in the US: a grant's last day lasts until it ends
    # everywhere (the precise check, in the owner's zone, is ``Grant.status_on``).
    return (timezone.now() - datetime.timedelta(hours=12)).date()


def grants_in_force(*, recipient: Agency) -> list[Grant]:
    """The grants ``recipient`` may search under now, with their owners, by owner name."""
    candidates = (
        Grant.objects.filter(
            recipient=recipient,
            accepted_at__isnull=False,
            revoked_at__isnull=True,
            ends_on__gte=_today(),
        )
        .select_related("owner", "recipient")
        .order_by("owner__name")
    )
    return [grant for grant in candidates if grant.in_force]


def grant_in_force(*, owner: Agency, recipient: Agency) -> Grant | None:
    """The grant in force from ``owner`` to ``recipient``, read now (not cached)."""
    grant = (
        Grant.objects.filter(
            owner=owner, recipient=recipient, accepted_at__isnull=False, revoked_at__isnull=True
        )
        .select_related("owner", "recipient")
        .order_by("-id")
        .first()
    )
    return grant if grant is not None and grant.in_force else None


def grants_of(*, agency: Agency) -> QuerySet[Grant]:
    """Every grant the agency offered or received, newest first."""
    return (
        Grant.objects.filter(Q(owner=agency) | Q(recipient=agency))
        .select_related("owner", "recipient")
        .order_by("-offered_at", "-id")
    )


def shared_with(*, owner: Agency) -> list[Grant]:
    """The grants of ``owner`` in force now, by recipient name (the transparency page)."""
    grants = (
        Grant.objects.filter(owner=owner, accepted_at__isnull=False, revoked_at__isnull=True)
        .select_related("owner", "recipient")
        .order_by("recipient__name")
    )
    return [grant for grant in grants if grant.in_force]


def law_problems(grant: Grant) -> list[str]:
    """Why the owner's law profile, as the agencies are now, no longer allows the grant."""
    return profile_of(grant.owner).offer_problems(owner=grant.owner, recipient=grant.recipient)
