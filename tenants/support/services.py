"""Support access, written: grants (by the agency's Administrators only), support sign-in, the
support session's checks, revocation, and the entries of what is done under a grant.

The grant is the agency's: it is made and revoked in the agency's schema by one of its verified
Administrators, never by the platform. Nothing here creates or extends a grant from ``public``,
from a support session, or for an account that is itself a support account. A grant has no
"extend": the agency revokes it and grants again if it wants more time.
"""

from __future__ import annotations

import datetime
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_tenants.utils import get_public_schema_name, schema_context

from audit.models import AccessEvent, Action, Outcome
from audit.services import event_context, record_event
from tenants.models import Agency
from tenants.people.models import EncryptedTOTPDevice, TrainingRecord
from tenants.people.roles import Role, has_role
from tenants.people.services import (
    SESSION_AUTH_AT,
    SESSION_SEEN_AT,
    PeopleError,
    credentials_check,
    login_refused_locked,
    logout_complete,
    sessions_end_for,
    training_record_add,
    user_create,
)
from tenants.schemas import PUBLIC_SCHEMA, current_schema
from tenants.support.models import MAX_GRANT_HOURS, Scope, SupportGrant

SUPPORT_SESSION = "alpr_support_grant"  # the grant a support session runs under (its id)
ORDINARY_SESSION = "alpr_not_support"  # this session's user was found to be no support account
MIN_REASON_LENGTH = 10
TRAINING_VALID_DAYS = 365
SUPPORT_DEVICE_NAME = "Platform second factor (support access)"

_SCOPE_ROLES = {Scope.SETTINGS: (Role.ADMINISTRATOR,), Scope.READ_ONLY: (Role.OFFICER,)}


class SupportError(Exception):
    """A support-access request that cannot be carried out; the message says why."""


def support_details(grant: SupportGrant) -> dict[str, object]:
    """What every access-log entry written under ``grant`` carries."""
    return {
        "support": True,
        "support_grant": grant.pk,
        "support_scope": grant.scope,
        "platform_username": grant.platform_username,
    }


# --- Who may grant -------------------------------------------------------------------------


def is_support_account(user: User) -> bool:
    return SupportGrant.objects.filter(account_id=user.pk).exists()


def _agency_administrator_check(*, actor: User, request: HttpRequest | None) -> None:
    """Only a verified Administrator of this agency, in its own schema, in an ordinary session.

    Refused: the platform's schema (platform staff, the platform admin, a script run there); a
    user whose row is not this schema's (same id and username, active, Administrator); a
    support account (a settings grant holds the Administrator role); a support session.
    """
    if current_schema() == PUBLIC_SCHEMA:
        raise SupportError(
            "Support access is granted by an agency's Administrator on the agency's own host; "
            "the platform cannot grant or extend it."
        )
    row = User.objects.filter(pk=actor.pk, username=actor.get_username(), is_active=True).first()
    if row is None or not has_role(row, Role.ADMINISTRATOR):
        raise SupportError(
            "Only an Administrator of this agency can grant or revoke support access."
        )
    if is_support_account(row):
        raise SupportError("A support account cannot grant or revoke support access.")
    if request is not None and request.session.get(SUPPORT_SESSION) is not None:
        raise SupportError("Support access cannot be granted or revoked from a support session.")


def platform_staff(username: str) -> User | None:
    """The active platform staff member named ``username`` (a user of ``public``), or None."""
    with schema_context(get_public_schema_name()):
        staff: User | None = User.objects.filter(
            username=username, is_active=True, is_staff=True
        ).first()
        return staff


def _training_check(*, scope: str, training_completed_on: datetime.date | None) -> None:
    if scope != Scope.READ_ONLY:
        return
    today = timezone.localdate()
    if training_completed_on is None:
        raise SupportError(
            "Read-only data access needs the date the staff member completed this agency's "
            "ALPR training (within the past year)."
        )
    if training_completed_on > today:
        raise SupportError("The training date cannot be in the future.")
    if training_completed_on < today - datetime.timedelta(days=TRAINING_VALID_DAYS):
        raise SupportError(
            "That training is more than a year old: read-only data access needs current training."
        )


def _request_check(*, scope: str, reason: str, hours: int) -> None:
    if scope not in Scope.values:
        raise SupportError(f"Choose a scope: {', '.join(str(label) for label in Scope.labels)}.")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise SupportError(
            f"Say why support access is needed (at least {MIN_REASON_LENGTH} characters)."
        )
    if not 1 <= hours <= MAX_GRANT_HOURS:
        raise SupportError(f"Support access lasts 1 to {MAX_GRANT_HOURS} hours.")


def _account_create(*, staff: User, scope: str, actor: User, request: HttpRequest | None) -> User:
    """The agency-schema user this grant's sessions run as: no password (no ordinary sign-in),
    the scope's role, and an authenticator nobody knows (its sessions are verified by the
    platform's second factor at support sign-in)."""
    username = f"support.{staff.get_username()}"[:143] + f".{secrets.token_hex(3)}"
    try:
        account = user_create(
            username=username,
            email="",
            roles=_SCOPE_ROLES[Scope(scope)],
            actor=actor,
            request=request,
            source="support_grant",
        )
    except PeopleError as exc:
        raise SupportError(str(exc)) from None
    device = EncryptedTOTPDevice(user=account, name=SUPPORT_DEVICE_NAME, confirmed=True)
    device.set_new_secret()
    device.save()
    return account


@transaction.atomic
def grant_create(
    *,
    actor: User,
    platform_username: str,
    scope: str,
    reason: str,
    hours: int,
    training_completed_on: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> SupportGrant:
    """An Administrator of this agency lets the platform staff member ``platform_username`` in
    for ``hours`` (1 to 24) under ``scope``. One active grant per staff member at a time."""
    _agency_administrator_check(actor=actor, request=request)
    _request_check(scope=scope, reason=reason, hours=hours)
    _training_check(scope=scope, training_completed_on=training_completed_on)
    staff = platform_staff(platform_username.strip())
    if staff is None:
        raise SupportError(
            f"No active platform staff member is named {platform_username.strip()!r}."
        )
    with connection.cursor() as cursor:  # one grant at a time per staff member and schema
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"support:{staff.pk}"])
    now = timezone.now()
    if SupportGrant.objects.filter(
        platform_user_id=staff.pk, revoked_at__isnull=True, expires_at__gt=now
    ).exists():
        raise SupportError(
            f"{staff.get_username()} already has active support access here; revoke it first."
        )
    account = _account_create(staff=staff, scope=scope, actor=actor, request=request)
    grant = SupportGrant.objects.create(
        platform_user_id=staff.pk,
        platform_username=staff.get_username(),
        scope=scope,
        reason=reason.strip(),
        granted_by=actor,
        granted_at=now,
        expires_at=now + datetime.timedelta(hours=hours),
        account=account,
    )
    if training_completed_on is not None and scope == Scope.READ_ONLY:
        training_record_add(
            user=account,
            kind=TrainingRecord.Kind.INITIAL,
            completed_on=training_completed_on,
            trainer=f"Confirmed by {actor.get_username()} for support grant #{grant.pk}",
            actor=actor,
            request=request,
        )
    record_event(
        action=Action.SUPPORT_GRANTED,
        request=request,
        actor=actor,
        reason=grant.reason,
        objects=[("support_grant", grant.pk), ("user", account.pk)],
        details={
            "platform_username": grant.platform_username,
            "scope": grant.scope,
            "hours": hours,
            "expires_at": grant.expires_at.isoformat(),
            "account": account.get_username(),
        },
    )
    return grant


@transaction.atomic
def grant_revoke(
    *, grant: SupportGrant, actor: User, reason: str, request: HttpRequest | None = None
) -> int:
    """End ``grant`` now: its account is deactivated and its sessions deleted (a session still
    open stops at its next request anyway). Returns the number of sessions ended."""
    _agency_administrator_check(actor=actor, request=request)
    if len(reason.strip()) < 3:
        raise SupportError("Say why the support access is revoked.")
    row = SupportGrant.objects.select_for_update().get(pk=grant.pk)
    if not row.is_active():
        raise SupportError(f"Support grant #{row.pk} has already ended ({row.status()}).")
    row.revoked_at = timezone.now()
    row.revoked_by = actor
    row.revoke_reason = reason.strip()
    row.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    account = row.account
    account.is_active = False
    account.save(update_fields=["is_active"])
    ended = sessions_end_for(user=account)
    record_event(
        action=Action.SUPPORT_REVOKED,
        request=request,
        actor=actor,
        reason=row.revoke_reason,
        objects=[("support_grant", row.pk), ("user", account.pk)],
        details={"platform_username": row.platform_username, "sessions_ended": ended},
    )
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = (
        row.revoked_at,
        actor,
        row.revoke_reason,
    )
    return ended


# --- Support sign-in -----------------------------------------------------------------------


@dataclass(frozen=True)
class SupportSignIn:
    grant: SupportGrant | None = None
    reason: str = ""  # why not, for the message
    locked: bool = False


def _active_grant_for(staff: User) -> SupportGrant | None:
    grant: SupportGrant | None = (
        SupportGrant.objects.select_related("account")
        .filter(
            platform_user_id=staff.pk,
            platform_username=staff.get_username(),
            revoked_at__isnull=True,
            granted_at__lte=timezone.now(),
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    return grant


def support_sign_in(
    *, request: HttpRequest, agency: Agency, username: str, password: str, code: str
) -> SupportSignIn:
    """A platform staff member signs in on ``agency``'s host under a grant naming them.

    Password and code are checked against the platform's schema (its users, authenticators and
    lockout; failures are logged there); then this agency's active grant for them is looked
    up, and a session of the grant's account is started here, marked as support. Refusals are
    logged in the agency's log too.

    Two transactions: the platform's check commits on its own (its failures count), then the
    agency's session and entries, with the platform's copy of the sign-in last (the order of
    the chain locks that ``tenants.services`` uses for platform staff's changes too).
    """
    if agency.is_platform or current_schema() != agency.schema_name:
        raise SupportError("Support sign-in happens on an agency's host.")
    username = username.strip()[:150]
    with schema_context(get_public_schema_name()):
        checked = credentials_check(
            request=request, username=username, password=password, code=code, step="support"
        )
        staff = checked.user if checked.user is not None and checked.user.is_staff else None
    with transaction.atomic():
        if checked.locked:
            login_refused_locked(username=f"platform:{username}", request=request, step="support")
            return SupportSignIn(reason="account locked", locked=True)
        if staff is None:
            why = checked.reason or "not platform staff"
            _record_refusal(request=request, username=username, reason=why)
            return SupportSignIn(reason=why)
        grant = _active_grant_for(staff)
        if grant is None or not grant.account.is_active:
            _record_refusal(request=request, username=username, reason="no active support grant")
            return SupportSignIn(reason="no active support grant")
        if not _granted_in_the_log(grant):
            why = "the grant has no support_granted entry in the agency's access log"
            _record_refusal(request=request, username=username, reason=why)
            return SupportSignIn(reason=why)
        device = _support_device(grant)
        if device is None:  # made with the grant; an administrator reset the account's factor
            why = "the grant's account has no second factor (reset); grant again"
            _record_refusal(request=request, username=username, reason=why)
            return SupportSignIn(reason=why)
        _session_start(request=request, grant=grant, device=device, staff=staff, agency=agency)
        return SupportSignIn(grant=grant)


def _record_refusal(*, request: HttpRequest, username: str, reason: str) -> None:
    record_event(
        action=Action.LOGIN_FAILED,
        request=request,
        actor=None,
        username=f"platform:{username}",
        outcome=Outcome.REFUSED,
        reason=reason,
        details={"support": True, "step": "support sign-in"},
    )


def _granted_in_the_log(grant: SupportGrant) -> bool:
    """Whether the agency's hash-chained log holds this grant's ``support_granted`` entry, by
    the Administrator the row names, with the same staff member and end. A row written to the
    table some other way (SQL by whoever runs the database) opens nothing."""
    return AccessEvent.objects.filter(
        action=Action.SUPPORT_GRANTED,
        outcome=Outcome.ALLOWED,
        actor_id=grant.granted_by_id,
        objects_touched__contains=[{"type": "support_grant", "id": str(grant.pk)}],
        details__contains={
            "platform_username": grant.platform_username,
            "scope": grant.scope,
            "expires_at": grant.expires_at.isoformat(),
        },
    ).exists()


def _support_device(grant: SupportGrant) -> EncryptedTOTPDevice | None:
    device: EncryptedTOTPDevice | None = EncryptedTOTPDevice.objects.filter(
        user_id=grant.account_id, name=SUPPORT_DEVICE_NAME, confirmed=True
    ).first()
    return device


def _session_start(
    *,
    request: HttpRequest,
    grant: SupportGrant,
    device: EncryptedTOTPDevice,
    staff: User,
    agency: Agency,
) -> None:
    account = grant.account
    auth_login(request, account, backend=settings.AUTHENTICATION_BACKENDS[0])
    otp_login(request, device)
    now = time.time()
    request.session[SESSION_AUTH_AT] = now
    request.session[SESSION_SEEN_AT] = now
    request.session[SUPPORT_SESSION] = grant.pk
    with event_context(**support_details(grant)):
        record_event(
            action=Action.LOGIN,
            request=request,
            actor=account,
            objects=[("support_grant", grant.pk)],
            details={"second_factor": "platform totp"},
        )
    with schema_context(get_public_schema_name()):
        record_event(
            action=Action.SUPPORT_SIGN_IN,
            request=request,
            actor=staff,
            objects=[("agency", agency.pk)],
            details={"agency": agency.slug, "support_grant": grant.pk, "scope": grant.scope},
        )


# --- The support session, on every request -------------------------------------------------


class SupportSessionEnded(Exception):
    """The request's support session must end now, and why."""

    def __init__(self, grant: SupportGrant | None, reason: str) -> None:
        super().__init__(reason)
        self.grant = grant
        self.reason = reason


def session_grant(request: HttpRequest) -> SupportGrant | None:
    """The grant the request's signed-in user works under, or None for an ordinary session.

    A support account is only ever signed in by support sign-in: its session must name its
    grant, and the grant must be active (not revoked, not expired) right now.
    """
    user = request.user
    marked = request.session.get(SUPPORT_SESSION)
    if marked is None and request.session.get(ORDINARY_SESSION) == user.pk:
        return None  # checked before: an existing user never becomes a support account
    grant: SupportGrant | None = SupportGrant.objects.filter(account_id=user.pk).first()
    if grant is None and marked is None:
        request.session[ORDINARY_SESSION] = user.pk
        return None
    if grant is None:  # a marked session whose account is no support account: end it
        raise SupportSessionEnded(None, "support session without a grant")
    if marked != grant.pk:
        raise SupportSessionEnded(grant, "support account signed in without support sign-in")
    if grant.revoked_at is not None:
        raise SupportSessionEnded(grant, "support grant revoked")
    if not grant.is_active():
        raise SupportSessionEnded(grant, "support grant expired")
    return grant


@transaction.atomic
def support_session_end(*, request: HttpRequest, ended: SupportSessionEnded) -> None:
    """Sign the support session out (logged, under its grant's marking when it has one)."""
    if ended.grant is None:
        logout_complete(request=request, reason=ended.reason)
        return
    with event_context(**support_details(ended.grant)):
        logout_complete(request=request, reason=ended.reason)


@transaction.atomic
def support_request_record(
    *, request: HttpRequest, grant: SupportGrant, status: int, refused: bool
) -> None:
    """One entry per page requested in a support session: method, path, view, status (the
    query string is left out: what a search asked for is in the search's own entry)."""
    match = getattr(request, "resolver_match", None)
    record_event(
        action=Action.SUPPORT_REQUEST,
        request=request,
        actor=grant.account,
        outcome=Outcome.REFUSED if refused else Outcome.ALLOWED,
        reason="outside the grant's scope" if refused else "",
        objects=[("support_grant", grant.pk)],
        details={
            "method": request.method,
            "path": request.path,
            "view": match.view_name if match is not None else "",
            "status": status,
        },
    )
