"""Support access, read: the agency's grants and what was done under each; the platform's
view of the grants naming one of its staff (read from each agency's schema, never written)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.models import Agency
from tenants.support.models import SupportGrant

RECENT_DAYS = 7


def grants_list() -> QuerySet[SupportGrant]:
    return SupportGrant.objects.select_related("granted_by", "revoked_by", "account")


def grant_get(grant_id: int) -> SupportGrant:
    """The grant of this agency's schema, or 404 (another agency's id is nothing here)."""
    grant = grants_list().filter(pk=grant_id).first()
    if grant is None:
        raise Http404("No such support grant.")
    return grant


PAGE_SIZE = 200


def entries_under(
    grant: SupportGrant, *, after: int = 0, limit: int | None = None
) -> list[AccessEvent]:
    """Entries written during the grant's support sessions (marked ``support_grant``), oldest
    first, from the entry after ``after`` on (keyset paging). They are the account's entries,
    so the actor index narrows the search before the JSON containment."""
    return list(
        AccessEvent.objects.filter(
            actor_id=grant.account_id, id__gt=after, details__contains={"support_grant": grant.pk}
        ).order_by("id")[: limit or PAGE_SIZE]
    )


def entries_under_count(grant: SupportGrant) -> int:
    return AccessEvent.objects.filter(
        actor_id=grant.account_id, details__contains={"support_grant": grant.pk}
    ).count()


def entries_about(grant: SupportGrant) -> QuerySet[AccessEvent]:
    """The grant's own history: granted, revoked (entries naming it as an object)."""
    return (
        AccessEvent.objects.filter(
            objects_touched__contains=[{"type": "support_grant", "id": str(grant.pk)}]
        )
        .exclude(details__contains={"support_grant": grant.pk})
        .order_by("id")
    )


@dataclass(frozen=True)
class StaffGrant:
    agency: Agency
    host: str
    grant: SupportGrant


def grants_naming(staff: User) -> list[StaffGrant]:
    """Grants of every agency naming ``staff`` (a platform user) that are active or ended
    within the last week: where they may sign in for support, and until when."""
    since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    found: list[StaffGrant] = []
    for agency in Agency.objects.exclude(schema_name="public").prefetch_related("domains"):
        host = next((d.domain for d in agency.domains.all() if d.is_primary), "")
        with schema_context(agency.schema_name):
            grants = list(
                SupportGrant.objects.filter(
                    platform_user_id=staff.pk,
                    platform_username=staff.get_username(),
                    expires_at__gt=since,
                )
            )
        found.extend(StaffGrant(agency=agency, host=host, grant=g) for g in grants)
    return sorted(found, key=lambda g: g.grant.expires_at, reverse=True)
