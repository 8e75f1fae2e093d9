"""Offering, accepting, renewing and revoking grants; every step in both agencies' logs.

The owner (A) offers, renews and revokes; the recipient's Administrator (B) accepts. Each step
changes the grant row (public schema) and writes one entry in each agency's access log, naming
each other (``tenants.sharing.links``), in one transaction. The owner's law profile is checked
at the offer, the acceptance and the renewal (and, by the search, at every search).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import Action
from audit.services import Actor
from tenants.models import Agency
from tenants.policy import policy_plain_text
from tenants.sharing.laws import profile_of
from tenants.sharing.links import Entry, ExternalActor, record_linked
from tenants.sharing.models import Grant


class SharingError(Exception):
    """A sharing step that cannot be carried out; the message says why (nothing changed)."""


class GrantNotFound(SharingError):
    """No such grant for this agency (answered with a 404: other agencies' grants are unseen)."""


def agency_today(agency: Agency) -> datetime.date:
    return timezone.now().astimezone(agency.tz).date()


def one_year_after(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _check_end(
    owner: Agency, ends_on: datetime.date, *, after: datetime.date | None = None
) -> None:
    today = agency_today(owner)
    latest = one_year_after(today)
    if ends_on < today:
        raise SharingError(f"The end date {ends_on:%Y-%m-%d} has passed: choose a later one.")
    if ends_on > latest:
        raise SharingError(
            f"A grant ends at most one year ahead (by {latest:%Y-%m-%d}); renew it then."
        )
    if after is not None and ends_on <= after:
        raise SharingError(f"A renewal must end after the current end date ({after:%Y-%m-%d}).")


def _check_law(owner: Agency, recipient: Agency) -> None:
    problems = profile_of(owner).offer_problems(owner=owner, recipient=recipient)
    if problems:
        raise SharingError(" ".join(problems))


def _username(actor: Actor | None, username: str) -> str:
    return actor.get_username() if actor is not None else username


def _grant_details(grant: Grant, **extra: Any) -> dict[str, Any]:
    return {
        "grant_id": grant.pk,
        "owner": grant.owner.slug,
        "recipient": grant.recipient.slug,
        "cameras": "all" if grant.all_cameras else list(grant.camera_ids),
        "days_back": grant.days_back,
        "ends_on": grant.ends_on.isoformat(),
        "law_profile": grant.law_profile,
        **extra,
    }


def _log_step(
    *,
    action: Action,
    grant: Grant,
    acting: Agency,
    actor: Actor | None,
    username: str,
    request: HttpRequest | None,
    reason: str = "",
    **extra: Any,
) -> None:
    """The step in the acting agency's log (the hub) and in the other agency's."""
    other = grant.recipient if acting.pk == grant.owner_id else grant.owner
    details = _grant_details(grant, **extra)
    who = _username(actor, username)
    own_fields: dict[str, Any] = {
        "action": action,
        "request": request,
        "actor": actor,
        "username": username,
        "reason": reason,
        "objects": [("grant", grant.pk)],
        "details": details,
    }
    other_fields: dict[str, Any] = {
        "action": action,
        "actor": ExternalActor(agency_slug=acting.slug, username=who),
        "reason": reason,
        "objects": [("grant", grant.pk)],
        "details": {**details, "by_agency": acting.slug, "by_username": who},
    }
    record_linked(
        hub=Entry(agency=acting, fields=own_fields),
        spokes=[Entry(agency=other, fields=other_fields)],
    )


def _live_grant_exists(owner: Agency, recipient: Agency) -> bool:
    today = agency_today(owner)
    return Grant.objects.filter(
        owner=owner, recipient=recipient, revoked_at__isnull=True, ends_on__gte=today
    ).exists()


def grant_offer(
    *,
    owner: Agency,
    recipient: Agency,
    ends_on: datetime.date,
    camera_ids: Sequence[int] | None = None,
    days_back: int | None = None,
    actor: Actor | None = None,
    username: str = "",
    request: HttpRequest | None = None,
) -> Grant:
    """A offers B read access to its captures (all cameras when ``camera_ids`` is None).

    ``camera_ids`` must already be checked against the owner's cameras (the caller does, in
    the owner's schema). Raises ``SharingError`` and changes nothing when the law profile,
    the dates or the scope do not allow it.
    """
    if owner.is_platform or recipient.is_platform:
        raise SharingError("Grants are between two agencies, not the platform.")
    if owner.pk == recipient.pk:
        raise SharingError("An agency does not need a grant to read its own captures.")
    if camera_ids is not None and not camera_ids:
        raise SharingError("Choose at least one camera, or share all cameras.")
    days = owner.retention_days if days_back is None else int(days_back)
    if not 1 <= days <= owner.retention_days:
        raise SharingError(
            f"How far back must be 1 to {owner.retention_days} days (the owner's retention)."
        )
    _check_end(owner, ends_on)
    _check_law(owner, recipient)
    with transaction.atomic():
        # One live grant per pair: lock the owner's row so two offers cannot both pass.
        Agency.objects.select_for_update().filter(pk=owner.pk).first()
        if _live_grant_exists(owner, recipient):
            raise SharingError(
                f"{owner.name} already has a grant to {recipient.name} that has not ended: renew "
                "or revoke it instead."
            )
        grant = Grant.objects.create(
            owner=owner,
            recipient=recipient,
            all_cameras=camera_ids is None,
            camera_ids=sorted({int(pk) for pk in camera_ids or ()}),
            days_back=days,
            ends_on=ends_on,
            law_profile=profile_of(owner).key,
            terms_text=policy_plain_text(owner),
            offered_by=_username(actor, username),
        )
        _log_step(
            action=Action.SHARE_OFFERED,
            grant=grant,
            acting=owner,
            actor=actor,
            username=username,
            request=request,
        )
    return grant


def _grant_for(agency: Agency, grant_id: Any, *, side: str) -> Grant:
    """The grant ``grant_id`` where ``agency`` is on ``side`` (owner/recipient), locked."""
    try:
        pk = int(grant_id)
    except (TypeError, ValueError):
        raise GrantNotFound(f"No grant {grant_id!r} of {agency.name}.") from None
    grant = (
        Grant.objects.select_for_update()
        .select_related("owner", "recipient")
        .filter(pk=pk, **{side: agency})
        .first()
    )
    if grant is None:
        raise GrantNotFound(f"No grant {pk} of {agency.name}.")
    return grant


def grant_accept(
    *,
    agency: Agency,
    grant_id: Any,
    actor: Actor | None = None,
    username: str = "",
    request: HttpRequest | None = None,
) -> Grant:
    """B's Administrator accepts A's offer and its terms: from now on the grant is in force."""
    with transaction.atomic():
        grant = _grant_for(agency, grant_id, side="recipient")
        status = grant.status_on(agency_today(grant.owner))
        if status != Grant.Status.OFFERED:
            raise SharingError(
                f"Grant {grant.pk} cannot be accepted: it is {status.label.lower()}."
            )
        _check_law(grant.owner, grant.recipient)
        grant.accepted_at = timezone.now()
        grant.accepted_by = _username(actor, username)
        grant.save(update_fields=["accepted_at", "accepted_by"])
        _log_step(
            action=Action.SHARE_ACCEPTED,
            grant=grant,
            acting=agency,
            actor=actor,
            username=username,
            request=request,
            terms_length=len(grant.terms_text),
        )
    return grant


def grant_renew(
    *,
    agency: Agency,
    grant_id: Any,
    ends_on: datetime.date,
    actor: Actor | None = None,
    username: str = "",
    request: HttpRequest | None = None,
) -> Grant:
    """A extends a grant in force to a later end date (at most a year from today)."""
    with transaction.atomic():
        grant = _grant_for(agency, grant_id, side="owner")
        status = grant.status_on(agency_today(agency))
        if status not in (Grant.Status.ACTIVE, Grant.Status.OFFERED):
            raise SharingError(f"Grant {grant.pk} cannot be renewed: it is {status.label.lower()}.")
        _check_end(agency, ends_on, after=grant.ends_on)
        _check_law(grant.owner, grant.recipient)
        previous = grant.ends_on
        grant.ends_on = ends_on
        grant.renewed_at = timezone.now()
        grant.renewals += 1
        grant.save(update_fields=["ends_on", "renewed_at", "renewals"])
        _log_step(
            action=Action.SHARE_RENEWED,
            grant=grant,
            acting=agency,
            actor=actor,
            username=username,
            request=request,
            previous_ends_on=previous.isoformat(),
        )
    return grant


def grant_revoke(
    *,
    agency: Agency,
    grant_id: Any,
    reason: str = "",
    actor: Actor | None = None,
    username: str = "",
    request: HttpRequest | None = None,
) -> Grant:
    """A withdraws a grant (offered or in force): effective at once, for every later search
    and capture view (they check the grant each time)."""
    with transaction.atomic():
        grant = _grant_for(agency, grant_id, side="owner")
        if grant.revoked_at is not None:
            raise SharingError(f"Grant {grant.pk} was already revoked.")
        grant.revoked_at = timezone.now()
        grant.revoked_by = _username(actor, username)
        grant.revoke_reason = reason.strip()[:1000]
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        _log_step(
            action=Action.SHARE_REVOKED,
            grant=grant,
            acting=agency,
            actor=actor,
            username=username,
            request=request,
            reason=grant.revoke_reason,
        )
    return grant


def grant_flag(*, grant: Grant, reason: str) -> None:
    """Mark a grant the owner's law profile no longer allows (found by a search)."""
    Grant.objects.filter(pk=grant.pk, flagged_at__isnull=True).update(
        flagged_at=timezone.now(), flag_reason=reason
    )
