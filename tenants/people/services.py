"""Writes about people: sign-in, second factor, lockout, users, roles, training.

Every event goes to the access log by a direct call of ``audit.services.record_event`` (the log
core, the floor below ``tenants``), inside the same transaction as the change it records.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from audit.models import Action, Outcome
from audit.services import record_event
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


# --- Lockout ---------------------------------------------------------------
#
# Every sign-in step of a username (password, code, enrolment code) runs in one transaction
# that first takes that username's LoginLock row FOR UPDATE, then checks the lock, checks the
# secret and counts the outcome. Concurrent attempts on one username are serialized, so the
# number of secrets checked can never pass the threshold, and a lock set by another attempt
# between the password and code steps is seen by the code step.


def _held_login_lock(username: str) -> LoginLock:
    """The LoginLock row of ``username``, created if missing, locked until the transaction ends.

    ``INSERT ... ON CONFLICT DO NOTHING`` then ``SELECT ... FOR UPDATE``: two first attempts
    cannot both create the row, and neither fails. The row can vanish between the two
    statements (an unlock, or a completed sign-in deleting it), hence the retry.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("_held_login_lock must run inside a transaction.")
    for _ in range(10):
        LoginLock.objects.bulk_create([LoginLock(username=username)], ignore_conflicts=True)
        lock = LoginLock.objects.select_for_update().filter(username=username).first()
        if lock is not None:
            return lock
    raise RuntimeError(f"The sign-in lock row of {username!r} keeps disappearing.")


def _count_failure(*, lock: LoginLock, reason: str, request: HttpRequest | None) -> bool:
    """Count one failure on the held ``lock`` and log it; True when this failure locks it."""
    lock.failures += 1
    lock.last_failure_at = timezone.now()
    now_locked = lock.locked_at is None and lock.failures >= LOCKOUT_THRESHOLD
    if now_locked:
        lock.locked_at = lock.last_failure_at
    lock.save(update_fields=["failures", "last_failure_at", "locked_at"])
    record_event(
        action=Action.LOGIN_FAILED,
        request=request,
        actor=None,
        username=lock.username,
        outcome=Outcome.FAILED,
        reason=reason,
        details={"consecutive_failures": lock.failures},
    )
    if now_locked:
        record_event(
            action=Action.LOCKOUT,
            request=request,
            actor=None,
            username=lock.username,
            outcome=Outcome.REFUSED,
            reason=f"{lock.failures} consecutive failed sign-ins",
        )
    return now_locked


@transaction.atomic
def login_failure_register(*, username: str, reason: str, request: HttpRequest | None) -> bool:
    """Count a failed sign-in of ``username`` and log it; True when this failure locks it."""
    return _count_failure(lock=_held_login_lock(username[:150]), reason=reason, request=request)


def login_refused_locked(*, username: str, request: HttpRequest | None, step: str = "") -> None:
    record_event(
        action=Action.LOGIN_FAILED,
        request=request,
        actor=None,
        username=username[:150],
        outcome=Outcome.REFUSED,
        reason="account locked",
        details={"step": step} if step else None,
    )


@transaction.atomic
def account_unlock(
    *, username: str, actor: User | None, request: HttpRequest | None = None
) -> bool:
    """Clear the lockout of ``username``; False when it was not locked."""
    lock = LoginLock.objects.select_for_update().filter(username=username).first()
    if lock is None or (lock.locked_at is None and lock.failures == 0):
        return False
    was_locked = lock.locked_at is not None
    lock.delete()
    record_event(
        action=Action.UNLOCK,
        request=request,
        actor=actor,
        objects=[("user", username)],
        details={"username": username, "was_locked": was_locked},
    )
    return True


# --- Sign-in ----------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    """The outcome of one sign-in step.

    ``user`` is set when the password step passed; ``device`` when a code step signed in.
    ``reason`` says why not (for the log and the message); ``locked`` means the account is
    locked (before this attempt, or by it) and the person must ask an administrator.
    """

    user: User | None = None
    device: Device | None = None
    reason: str = ""
    locked: bool = False
    backup_codes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.user is not None or self.device is not None


def _why_refused(*, username: str, password: str) -> str:
    """Why ``authenticate`` said no, for the log (the person's message leaks nothing new)."""
    candidate = get_user_model().objects.filter(username=username).first()
    if candidate is None:
        return "unknown username"
    if not candidate.is_active:
        if candidate.check_password(password):
            return "inactive account"
        return "wrong password (inactive account)"
    return "wrong password"


@transaction.atomic
def sign_in_password(*, request: HttpRequest, username: str, password: str) -> StepResult:
    """The password step, checked and counted under the username's lock row."""
    username = username[:150]
    lock = _held_login_lock(username)
    if lock.locked_at is not None:
        login_refused_locked(username=username, request=request, step="password")
        return StepResult(reason="account locked", locked=True)
    user = authenticate(request, username=username, password=password)
    if user is None:
        reason = _why_refused(username=username, password=password)
        locked = _count_failure(lock=lock, reason=reason, request=request)
        return StepResult(reason=reason, locked=locked)
    if lock.failures == 0:
        lock.delete()  # nothing to remember; a row is only kept while it counts something
    return StepResult(user=user)


def confirmed_totp_device(user: User) -> EncryptedTOTPDevice | None:
    device: EncryptedTOTPDevice | None = EncryptedTOTPDevice.objects.filter(
        user=user, confirmed=True
    ).first()
    return device


@dataclass(frozen=True)
class CodeResult:
    device: Device | None  # the device that accepted the code
    reason: str  # why not, for the log and the message ("" when accepted)


def second_factor_check(*, user: User, code: str) -> CodeResult:
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
def sign_in_code(*, request: HttpRequest, user: User, code: str) -> StepResult:
    """The code step: under the lock row, refuse a locked account, else check and sign in.

    A right code on an account locked since the password step is refused (and logged), so a
    lock set by a concurrent attempt always wins.
    """
    lock = _held_login_lock(user.get_username()[:150])
    if lock.locked_at is not None:
        login_refused_locked(username=user.get_username(), request=request, step="code")
        return StepResult(reason="account locked", locked=True)
    result = second_factor_check(user=user, code=code)
    if result.device is None:
        locked = _count_failure(lock=lock, reason=result.reason, request=request)
        return StepResult(reason=result.reason, locked=locked)
    method = "backup" if isinstance(result.device, StaticDevice) else "totp"
    login_complete(request=request, user=user, device=result.device, method=method)
    return StepResult(user=user, device=result.device)


@transaction.atomic
def credentials_check(
    *, request: HttpRequest | None, username: str, password: str, code: str, step: str
) -> StepResult:
    """Both factors at once, under the username's lock row, without signing anyone in.

    For a sign-in whose session lives elsewhere (support access: a platform staff member's
    password and code are checked in ``public``, the session is made in an agency's schema).
    Failures count toward the same lockout and are logged like any sign-in's, in the current
    schema; ``step`` names the page for the log.
    """
    username = username[:150]
    lock = _held_login_lock(username)
    if lock.locked_at is not None:
        login_refused_locked(username=username, request=request, step=step)
        return StepResult(reason="account locked", locked=True)
    user = authenticate(request, username=username, password=password)
    if user is None:
        reason = _why_refused(username=username, password=password)
        return StepResult(
            reason=reason, locked=_count_failure(lock=lock, reason=reason, request=request)
        )
    result = second_factor_check(user=user, code=code)
    if result.device is None:
        locked = _count_failure(lock=lock, reason=result.reason, request=request)
        return StepResult(reason=result.reason, locked=locked)
    LoginLock.objects.filter(username=username, locked_at__isnull=True).delete()
    return StepResult(user=user, device=result.device)


@transaction.atomic
def login_complete(*, request: HttpRequest, user: User, device: Device, method: str) -> None:
    """Both factors passed: start the session (new key), mark it verified, log it."""
    auth_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    otp_login(request, device)
    now = time.time()
    request.session[SESSION_AUTH_AT] = now
    request.session[SESSION_SEEN_AT] = now
    LoginLock.objects.filter(username=user.get_username(), locked_at__isnull=True).delete()
    record_event(
        action=Action.LOGIN, request=request, actor=user, details={"second_factor": method}
    )


def logout_complete(*, request: HttpRequest, reason: str = "signed out") -> None:
    """End the session (all its data) and log who left and why."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        record_event(action=Action.LOGOUT, request=request, actor=user, reason=reason)
    auth_logout(request)


def sessions_end_for(*, user: User) -> int:
    """Delete every session of ``user`` in the current schema; returns how many."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


# --- Second factor enrolment and reset ------------------------------------


@transaction.atomic
def totp_enrolment_start(*, user: User, device_id: int | None = None) -> EncryptedTOTPDevice:
    """The authenticator this sign-in is setting up, with a secret no other sign-in has seen.

    ``device_id`` is the device this sign-in started earlier (kept in its session), reused so
    that reloading the page shows the same code to scan. Otherwise every other unconfirmed
    device of the user is deleted and a new one is made with a fresh secret: a secret shown to
    one sign-in (perhaps someone who only knew the password) is never shown to a later one.
    """
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # one at a time
    if device_id is not None:
        started: EncryptedTOTPDevice | None = EncryptedTOTPDevice.objects.filter(
            pk=device_id, user=user, confirmed=False
        ).first()
        if started is not None:
            return started
    EncryptedTOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = EncryptedTOTPDevice(user=user, name="Authenticator app", confirmed=False)
    device.set_new_secret()
    device.save()
    return device


def _new_backup_codes(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=static, token=backup_code_digest(code)) for code in codes
    )
    return codes


ENROLMENT_REPLACED = "enrolment replaced by a later sign-in"


@transaction.atomic
def sign_in_enrol(
    *, request: HttpRequest, user: User, device_id: int | None, code: str
) -> StepResult:
    """First sign-in: confirm this sign-in's authenticator with its first code, and sign in.

    Under the username's lock row like the other steps. The device must be the one this
    sign-in was shown (``device_id``); one replaced by a later sign-in no longer exists, so a
    code for its secret is refused. On success the backup codes are in ``backup_codes``.
    """
    username = user.get_username()[:150]
    lock = _held_login_lock(username)
    if lock.locked_at is not None:
        login_refused_locked(username=username, request=request, step="enrolment")
        return StepResult(reason="account locked", locked=True)
    device = (
        EncryptedTOTPDevice.objects.select_for_update()
        .filter(pk=device_id, user=user, confirmed=False)
        .first()
        if device_id is not None
        else None
    )
    if device is None:
        reason = ENROLMENT_REPLACED
    elif device.check_token(code) is not TokenCheck.VALID:
        reason = "wrong enrolment code"
    else:
        EncryptedTOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_backup_codes(user=user)
        record_event(
            action=Action.MFA_ENROLLED,
            request=request,
            actor=user,
            objects=[("user", user.pk)],
            details={"device": "totp", "backup_codes": len(codes)},
        )
        login_complete(request=request, user=user, device=device, method="totp")
        return StepResult(user=user, device=device, backup_codes=tuple(codes))
    locked = _count_failure(lock=lock, reason=reason, request=request)
    return StepResult(reason=reason, locked=locked)


@transaction.atomic
def totp_enrol_confirmed(
    *, user: User, actor: User | None = None, request: HttpRequest | None = None
) -> EncryptedTOTPDevice:
    """Provisioning: a confirmed authenticator straight away (its secret is shown once)."""
    EncryptedTOTPDevice.objects.filter(user=user).delete()
    device = EncryptedTOTPDevice(user=user, name="Authenticator app", confirmed=True)
    device.set_new_secret()
    device.save()
    record_event(
        action=Action.MFA_ENROLLED,
        request=request,
        actor=actor,
        username="" if actor else "provisioning",
        objects=[("user", user.pk)],
        details={"device": "totp", "provisioned": True, "username": user.get_username()},
    )
    return device


@transaction.atomic
def backup_codes_regenerate(*, user: User, request: HttpRequest | None = None) -> list[str]:
    codes = _new_backup_codes(user=user)
    record_event(
        action=Action.MFA_ENROLLED,
        request=request,
        actor=user,
        objects=[("user", user.pk)],
        details={"device": "backup_codes", "regenerated": True},
    )
    return codes


@transaction.atomic
def mfa_reset(*, user: User, actor: User | None, request: HttpRequest | None = None) -> None:
    """Remove the user's second factor; they enrol again at their next sign-in."""
    EncryptedTOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    ended = sessions_end_for(user=user)
    record_event(
        action=Action.MFA_RESET,
        request=request,
        actor=actor,
        objects=[("user", user.pk)],
        details={"username": user.get_username(), "sessions_ended": ended},
    )


# --- Users, roles, training ----------------------------------------------


def _role_names(roles: Iterable[Role]) -> list[str]:
    return sorted(role.value for role in roles)


def user_fields_check(*, username: str, email: str, who: str = "") -> None:
    """Refuse a username or email address no user can have; ``who`` names the user in the
    message (e.g. "administrator ") for callers that check before creating anything."""
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise PeopleError(
            f"Invalid {who}username {username!r}: use letters, digits and @.+-_ only."
        ) from None
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise PeopleError(f"Invalid {who}email address {email!r}.") from None


def _password_check(user: User, password: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PeopleError("Password refused: " + " ".join(exc.messages)) from None


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
    actor: User | None = None,
    request: HttpRequest | None = None,
    source: str = "admin",
    logged_as: str = "",
) -> User:
    """Create a user of the current agency with ``roles``: the only way users are made (the
    admin, the ``create_user`` command, an agency's first administrator, the demo).

    No password = an unusable one. ``source`` says where the creation came from; without an
    ``actor`` the log names ``logged_as`` (or the source) as who did it.
    """
    roles = list(dict.fromkeys(roles))
    user_fields_check(username=username, email=email)
    if User.objects.filter(username=username).exists():
        raise PeopleError(f"A user named {username!r} already exists in this agency.")
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    if password is None:
        user.set_unusable_password()
    else:
        _password_check(user, password)
        user.set_password(password)
    user.is_staff = Role.ADMINISTRATOR in roles
    user.save()
    user.groups.set([role_group(role) for role in roles])
    record_event(
        action=Action.USER_CREATED,
        request=request,
        actor=actor,
        username="" if actor else (logged_as or source),
        objects=[("user", user.pk)],
        details={"username": username, "roles": _role_names(roles), "source": source},
    )
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
def user_set_roles(
    *, user: User, roles: Iterable[Role], actor: User | None, request: HttpRequest | None = None
) -> User:
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
            action=Action.ROLE_CHANGED,
            request=request,
            actor=actor,
            objects=[("user", user.pk)],
            details={"username": user.get_username(), "before": before, "after": after},
        )
    return user


def _current_role_names(user: User) -> list[str]:
    names = set(user.groups.values_list("name", flat=True))
    return sorted(role.value for role in Role if role.value in names)


@transaction.atomic
def user_record_change(
    *, user: User, changed: Iterable[str], actor: User | None, request: HttpRequest | None = None
) -> None:
    """Log a change of the user's own fields (names only, never values of secrets)."""
    changed = sorted(set(changed) - {"password"})
    if changed:
        record_event(
            action=Action.USER_CHANGED,
            request=request,
            actor=actor,
            objects=[("user", user.pk)],
            details={"username": user.get_username(), "fields": changed},
        )


@transaction.atomic
def user_deactivate(*, user: User, actor: User | None, request: HttpRequest | None = None) -> int:
    """Deactivate ``user`` and end all their sessions; returns the number of sessions ended."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = sessions_end_for(user=user)
    record_event(
        action=Action.USER_CHANGED,
        request=request,
        actor=actor,
        objects=[("user", user.pk)],
        details={"username": user.get_username(), "deactivated": True, "sessions_ended": ended},
    )
    return ended


@transaction.atomic
def user_password_set(
    *, user: User, password: str, actor: User | None, request: HttpRequest | None = None
) -> None:
    """Set a new password (validated); the password itself is never logged."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PeopleError(" ".join(exc.messages)) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    record_event(
        action=Action.USER_CHANGED,
        request=request,
        actor=actor,
        objects=[("user", user.pk)],
        details={"username": user.get_username(), "fields": ["password"]},
    )


@transaction.atomic
def training_record_add(
    *,
    user: User,
    kind: str,
    completed_on: datetime.date,
    trainer: str,
    notes: str = "",
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> TrainingRecord:
    if completed_on > timezone.localdate():
        raise PeopleError("A training cannot be completed in the future.")
    record = TrainingRecord.objects.create(
        user=user, kind=kind, completed_on=completed_on, trainer=trainer, notes=notes
    )
    record_event(
        action=Action.TRAINING_CHANGED,
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
    *,
    record: TrainingRecord,
    changed: Iterable[str],
    actor: User | None,
    request: HttpRequest | None = None,
) -> None:
    """Log an edit of a training record already saved by the admin form."""
    record_event(
        action=Action.TRAINING_CHANGED,
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
def training_record_delete(
    *, record: TrainingRecord, actor: User | None, request: HttpRequest | None = None
) -> None:
    record_event(
        action=Action.TRAINING_CHANGED,
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
