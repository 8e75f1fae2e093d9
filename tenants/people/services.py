"""Writes about people: sign-in, second factor, lockout, users, roles, training.

Every event goes to the access log through ``record_event`` (``settings.ALPR_EVENT_RECORDER``,
the audit app's ``record_event``), inside the same transaction as the change it records.
``tenants`` imports no other app, so the recorder is looked up by its dotted path.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from tenants.people.crypto import backup_code_digest, backup_code_lookup
from tenants.people.models import (
    LOCKOUT_THRESHOLD,
    EncryptedTOTPDevice,
    LoginLock,
    TokenCheck,
    TrainingRecord,
)
from tenants.people.roles import Role, role_group

SESSION_AUTH_AT = "alpr_auth_at"  # when both factors were passed (absolute lifetime)
SESSION_SEEN_AT = "alpr_seen_at"  # last request (idle timeout)
BACKUP_CODE_COUNT = 10


class PeopleError(Exception):
    """A request about a user that cannot be carried out; the message says why."""


def record_event(action: str, **kwargs: Any) -> None:
    """Append to the access log of the current schema (never pass a password here)."""
    import_string(settings.ALPR_EVENT_RECORDER)(action=action, **kwargs)


# --- Lockout ---------------------------------------------------------------


def login_lock_for(username: str) -> LoginLock | None:
    return LoginLock.objects.filter(username=username).first()


def is_locked(username: str) -> bool:
    return LoginLock.objects.filter(username=username, locked_at__isnull=False).exists()


@transaction.atomic
def login_failure_register(*, username: str, reason: str, request: HttpRequest | None) -> bool:
    """Count a failed sign-in of ``username`` and log it; True when this failure locks it."""
    username = username[:150]
    lock, _ = LoginLock.objects.select_for_update().get_or_create(username=username)
    lock.failures = F("failures") + 1
    lock.last_failure_at = timezone.now()
    lock.save(update_fields=["failures", "last_failure_at"])
    lock.refresh_from_db()
    record_event(
        "login_failed",
        request=request,
        actor=None,
        username=username,
        outcome="failed",
        reason=reason,
        details={"consecutive_failures": lock.failures},
    )
    if lock.locked_at is None and lock.failures >= LOCKOUT_THRESHOLD:
        lock.locked_at = timezone.now()
        lock.save(update_fields=["locked_at"])
        record_event(
            "lockout",
            request=request,
            actor=None,
            username=username,
            outcome="refused",
            reason=f"{lock.failures} consecutive failed sign-ins",
        )
        return True
    return False


def login_refused_locked(*, username: str, request: HttpRequest | None) -> None:
    record_event(
        "login_failed",
        request=request,
        actor=None,
        username=username[:150],
        outcome="refused",
        reason="account locked",
    )


@transaction.atomic
def account_unlock(*, username: str, actor, request: HttpRequest | None = None) -> bool:
    """Clear the lockout of ``username``; False when it was not locked."""
    lock = LoginLock.objects.select_for_update().filter(username=username).first()
    if lock is None or (lock.locked_at is None and lock.failures == 0):
        return False
    was_locked = lock.locked_at is not None
    lock.delete()
    record_event(
        "unlock",
        request=request,
        actor=actor,
        objects=[("user", username)],
        details={"username": username, "was_locked": was_locked},
    )
    return True


# --- Sign-in ----------------------------------------------------------------


def confirmed_totp_device(user) -> EncryptedTOTPDevice | None:
    return EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).first()


@dataclass(frozen=True)
class CodeResult:
    device: Any | None  # the device that accepted the code
    reason: str  # why not, for the log and the message ("" when accepted)


def second_factor_check(*, user, code: str) -> CodeResult:
    """Match ``code`` against the user's authenticator, then the backup codes (consumed once)."""
    code = (code or "").strip().replace(" ", "").replace("-", "")
    if not code:
        return CodeResult(None, "empty code")
    with transaction.atomic():
        device = (
            EncryptedTOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .first()
        )
        if device is not None and code.isdigit():
            check = device.check_token(code)
            if check is TokenCheck.VALID:
                return CodeResult(device, "")
            if check is TokenCheck.REPLAYED:
                return CodeResult(None, "code already used")
        for static in StaticDevice.objects.select_for_update().filter(user=user, confirmed=True):
            if static.verify_token(backup_code_lookup(code)):
                return CodeResult(static, "")
    return CodeResult(None, "wrong code")


@transaction.atomic
def login_complete(*, request: HttpRequest, user, device, method: str) -> None:
    """Both factors passed: start the session (new key), mark it verified, log it."""
    auth_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    otp_login(request, device)
    now = time.time()
    request.session[SESSION_AUTH_AT] = now
    request.session[SESSION_SEEN_AT] = now
    LoginLock.objects.filter(username=user.get_username(), locked_at__isnull=True).delete()
    record_event("login", request=request, actor=user, details={"second_factor": method})


def logout_complete(*, request: HttpRequest, reason: str = "signed out") -> None:
    """End the session (all its data) and log who left and why."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        with transaction.atomic():
            record_event("logout", request=request, actor=user, reason=reason)
    auth_logout(request)


def sessions_end_for(*, user) -> int:
    """Delete every session of ``user`` in the current schema; returns how many."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


# --- Second factor enrolment and reset ------------------------------------


def totp_enrolment_device(*, user) -> EncryptedTOTPDevice:
    """The user's pending (unconfirmed) authenticator, created with a fresh secret if needed."""
    device = EncryptedTOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = EncryptedTOTPDevice(user=user, name="Authenticator app", confirmed=False)
        device.set_new_secret()
        device.save()
    return device


def _new_backup_codes(*, user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=static, token=backup_code_digest(code)) for code in codes
    )
    return codes


@transaction.atomic
def totp_enrolment_confirm(
    *, user, code: str, request: HttpRequest | None = None
) -> tuple[EncryptedTOTPDevice, list[str]] | None:
    """Confirm the pending authenticator with its first code; returns it and new backup codes."""
    device = (
        EncryptedTOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    )
    if device is None or device.check_token(code) is not TokenCheck.VALID:
        return None
    EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_backup_codes(user=user)
    record_event(
        "mfa_enrolled",
        request=request,
        actor=user,
        objects=[("user", user.pk)],
        details={"device": "totp", "backup_codes": len(codes)},
    )
    return device, codes


@transaction.atomic
def totp_enrol_confirmed(*, user, actor=None, request=None) -> EncryptedTOTPDevice:
    """Provisioning: a confirmed authenticator straight away (its secret is shown once)."""
    EncryptedTOTPDevice.objects.filter(user=user).delete()
    device = EncryptedTOTPDevice(user=user, name="Authenticator app", confirmed=True)
    device.set_new_secret()
    device.save()
    record_event(
        "mfa_enrolled",
        request=request,
        actor=actor,
        username="" if actor else "provisioning",
        objects=[("user", user.pk)],
        details={"device": "totp", "provisioned": True, "username": user.get_username()},
    )
    return device


@transaction.atomic
def backup_codes_regenerate(*, user, request: HttpRequest | None = None) -> list[str]:
    codes = _new_backup_codes(user=user)
    record_event(
        "mfa_enrolled",
        request=request,
        actor=user,
        objects=[("user", user.pk)],
        details={"device": "backup_codes", "regenerated": True},
    )
    return codes


@transaction.atomic
def mfa_reset(*, user, actor, request: HttpRequest | None = None) -> None:
    """Remove the user's second factor; they enrol again at their next sign-in."""
    EncryptedTOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    ended = sessions_end_for(user=user)
    record_event(
        "mfa_reset",
        request=request,
        actor=actor,
        objects=[("user", user.pk)],
        details={"username": user.get_username(), "sessions_ended": ended},
    )


# --- Users, roles, training ----------------------------------------------


def _role_names(roles: Iterable[Role]) -> list[str]:
    return sorted(role.value for role in roles)


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str = "",
    roles: Iterable[Role],
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    trained_on: datetime.date | None = None,
    trainer: str = "",
    actor=None,
    request: HttpRequest | None = None,
    source: str = "",
):
    """Create a user of the current agency with ``roles`` (audited). No password = unusable."""
    roles = list(dict.fromkeys(roles))
    user_model = get_user_model()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise PeopleError(
            f"Invalid username {username!r}: use letters, digits and @.+-_ only."
        ) from None
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise PeopleError(f"Invalid email address {email!r}.") from None
    if user_model.objects.filter(username=username).exists():
        raise PeopleError(f"A user named {username!r} already exists in this agency.")
    user = user_model(username=username, email=email, first_name=first_name, last_name=last_name)
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise PeopleError("Password refused: " + " ".join(exc.messages)) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user_register(user=user, roles=roles, actor=actor, request=request, source=source)
    if trained_on is not None:
        training_record_add(
            user=user,
            kind=TrainingRecord.Kind.INITIAL,
            completed_on=trained_on,
            trainer=trainer or "(recorded at account creation)",
            actor=actor,
            request=request,
        )
    return user


@transaction.atomic
def user_register(
    *, user, roles: Iterable[Role], actor, request: HttpRequest | None = None, source: str = ""
):
    """Save a new user built elsewhere (e.g. the admin's form, password already set), give it
    ``roles`` and log the creation."""
    roles = list(dict.fromkeys(roles))
    user.is_staff = Role.ADMINISTRATOR in roles
    user.save()
    user.groups.set([role_group(role) for role in roles])
    record_event(
        "user_created",
        request=request,
        actor=actor,
        username="" if actor else (source or "provisioning"),
        objects=[("user", user.pk)],
        details={
            "username": user.get_username(),
            "roles": _role_names(roles),
            "source": source or "admin",
        },
    )
    return user


@transaction.atomic
def user_set_roles(*, user, roles: Iterable[Role], actor, request: HttpRequest | None = None):
    """Give ``user`` exactly ``roles`` (audited when they change)."""
    before = _current_role_names(user)
    wanted = list(dict.fromkeys(roles))
    user.groups.remove(*(role_group(role) for role in Role if role not in wanted))
    user.groups.add(*(role_group(role) for role in wanted))
    if hasattr(user, "_alpr_roles"):
        del user._alpr_roles
    after = _role_names(wanted)
    is_staff = Role.ADMINISTRATOR in wanted
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    if before != after:
        record_event(
            "role_changed",
            request=request,
            actor=actor,
            objects=[("user", user.pk)],
            details={"username": user.get_username(), "before": before, "after": after},
        )
    return user


def _current_role_names(user) -> list[str]:
    names = set(user.groups.values_list("name", flat=True))
    return sorted(role.value for role in Role if role.value in names)


@transaction.atomic
def user_record_change(
    *, user, changed: Iterable[str], actor, request: HttpRequest | None = None
) -> None:
    """Log a change of the user's own fields (names only, never values of secrets)."""
    changed = sorted(set(changed) - {"password"})
    if changed:
        record_event(
            "user_changed",
            request=request,
            actor=actor,
            objects=[("user", user.pk)],
            details={"username": user.get_username(), "fields": changed},
        )


@transaction.atomic
def user_deactivate(*, user, actor, request: HttpRequest | None = None) -> int:
    """Deactivate ``user`` and end all their sessions; returns the number of sessions ended."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = sessions_end_for(user=user)
    record_event(
        "user_changed",
        request=request,
        actor=actor,
        objects=[("user", user.pk)],
        details={"username": user.get_username(), "deactivated": True, "sessions_ended": ended},
    )
    return ended


@transaction.atomic
def user_password_set(*, user, password: str, actor, request: HttpRequest | None = None) -> None:
    """Set a new password (validated); the password itself is never logged."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PeopleError(" ".join(exc.messages)) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    record_event(
        "user_changed",
        request=request,
        actor=actor,
        objects=[("user", user.pk)],
        details={"username": user.get_username(), "fields": ["password"]},
    )


@transaction.atomic
def training_record_add(
    *,
    user,
    kind: str,
    completed_on: datetime.date,
    trainer: str,
    notes: str = "",
    actor=None,
    request: HttpRequest | None = None,
) -> TrainingRecord:
    if completed_on > timezone.localdate():
        raise PeopleError("A training cannot be completed in the future.")
    record = TrainingRecord.objects.create(
        user=user, kind=kind, completed_on=completed_on, trainer=trainer, notes=notes
    )
    record_event(
        "training_changed",
        request=request,
        actor=actor,
        username="" if actor else "provisioning",
        objects=[("user", user.pk), ("training_record", record.pk)],
        details={
            "username": user.get_username(),
            "change": "added",
            "kind": kind,
            "completed_on": completed_on.isoformat(),
            "trainer": trainer,
        },
    )
    return record


@transaction.atomic
def training_record_change(
    *, record: TrainingRecord, changed: Iterable[str], actor, request=None
) -> None:
    """Log an edit of a training record already saved by the admin form."""
    record_event(
        "training_changed",
        request=request,
        actor=actor,
        objects=[("user", record.user_id), ("training_record", record.pk)],
        details={
            "username": record.user.get_username(),
            "change": "edited",
            "fields": sorted(changed),
            "kind": record.kind,
            "completed_on": record.completed_on.isoformat(),
        },
    )


@transaction.atomic
def training_record_delete(*, record: TrainingRecord, actor, request=None) -> None:
    record_event(
        "training_changed",
        request=request,
        actor=actor,
        objects=[("user", record.user_id), ("training_record", record.pk)],
        details={
            "username": record.user.get_username(),
            "change": "deleted",
            "kind": record.kind,
            "completed_on": record.completed_on.isoformat(),
        },
    )
    record.delete()


def random_password() -> str:
    return secrets.token_urlsafe(18)
