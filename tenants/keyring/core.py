"""The master key and everything made from it. Nothing else in the portal touches the master key.

Key hierarchy (explained in docs/ARCHITECTURE.md, "Key hierarchy")::

    master key  (settings.ALPR_MASTER_KEY; in development a key file made on first use)
    |-- derived per schema and purpose (HKDF-SHA256): sealing keys for small secrets kept in
    |   text columns, e.g. TOTP secrets                          -> seal() / unseal()
    `-- wraps (AES-256-GCM) random keys kept in the database:
        |-- SchemaKey rows, one per schema and purpose, e.g. the backup-code digest key
        |                                                        -> schema_key() / keyed_digest()
        `-- captures.DataKey rows, one per agency and UTC day   -> wrap() / unwrap()

Every sealed or wrapped value carries the fingerprint of the master key that made it
(``fingerprint()``), so a reader finds the right key and rotation recognises what is current.
Each use registers how to re-seal its values (``register_reseal_step``, ``register_sealed_field``,
``register_schema_key``); ``rotate()`` runs every registered step in every schema (the platform's
``public`` and each agency's), one transaction per schema, and can be run again safely.

Everything that seals or wraps binds the schema name into the associated data, so a value copied
into another agency's schema (even into the row with the same id) does not open there.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from tenants.schemas import current_schema

NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
SEAL_VERSION = "v2"  # v1 (no fingerprint, no schema) is upgraded by people/0004


class KeyringError(Exception):
    """A key problem; the message says what to do about it."""


class MasterKeyMissing(KeyringError):
    """No usable master key is configured."""


class MasterKeyUnavailable(KeyringError):
    """A value made under a master key this process does not hold (rotation not finished)."""

    def __init__(self, message: str, *, key_id: str):
        super().__init__(message)
        self.key_id = key_id


class SealedValueUnreadable(KeyringError):
    """A value that does not open: altered, or copied from another row or schema."""


class RotationError(KeyringError):
    """Rotation of one schema stopped; nothing in that schema was changed."""


# --- the master key ---------------------------------------------------------------------------


def parse_key(text: str, *, source: str = "ALPR_MASTER_KEY") -> bytes:
    """32 bytes from base64 or 64 hex characters; ``source`` names where the text came from."""
    text = (text or "").strip()
    key: bytes | None = None
    if len(text) == 2 * KEY_BYTES:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = None
    if key is None:
        try:
            key = base64.b64decode(text, validate=True)
        except (ValueError, binascii.Error):
            key = None
    if key is None or len(key) != KEY_BYTES:
        raise KeyringError(f"{source} must be 32 bytes, base64-encoded or as 64 hex characters.")
    return key


def fingerprint(key: bytes) -> str:
    """A short, non-secret name of a master key (16 hex characters), stored with what it made."""
    return hashlib.sha256(b"alpr-master-key-id:" + key).hexdigest()[:16]


def master_key() -> bytes:
    """The current master key. In development, a key file is created on first use."""
    key = getattr(settings, "ALPR_MASTER_KEY", None)
    if key is None:
        if getattr(settings, "ALPR_ENV", "") == "development":
            return _development_key(str(settings.ALPR_DEV_MASTER_KEY_FILE))
        raise MasterKeyMissing(
            "No master key is configured: set ALPR_MASTER_KEY or ALPR_MASTER_KEY_FILE "
            "(32 random bytes, base64)."
        )
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise MasterKeyMissing("ALPR_MASTER_KEY must be 32 bytes.")
    return key


@functools.lru_cache(maxsize=4)
def _development_key(path: str) -> bytes:
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode())
        try:
            # A hard link never replaces: when two processes start at once, the first key wins
            # and both read it back.
            os.link(tmp, file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return parse_key(file.read_text(), source=str(file))


def current_key_id() -> str:
    return fingerprint(master_key())


def _old_keys(extra: Iterable[bytes] = ()) -> dict[str, bytes]:
    """Previous master keys this process may read with (settings.ALPR_OLD_MASTER_KEYS + extra)."""
    return {fingerprint(k): k for k in [*getattr(settings, "ALPR_OLD_MASTER_KEYS", ()), *extra]}


def _master_for(key_id: str) -> bytes:
    current = master_key()
    if key_id == fingerprint(current):
        return current
    old = _old_keys().get(key_id)
    if old is None:
        raise MasterKeyUnavailable(
            f"This value is under master key {key_id}, not the current one "
            f"({fingerprint(current)}); run 'manage.py rotate_master_key' with the old key.",
            key_id=key_id,
        )
    return old


def _schema() -> str:
    schema = current_schema()
    if not schema:
        raise KeyringError("No schema is selected; keys belong to a schema.")
    return schema


# --- wrapped keys (random keys stored in the database) -----------------------------------------


def _wrap_with(master: bytes, plain: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, plain, aad)


def _unwrap_with(master: bytes, wrapped: bytes, aad: bytes) -> bytes:
    return AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)


def wrap(plain: bytes, *, aad: bytes) -> tuple[bytes, str]:
    """Wrap a key with the current master key; returns (wrapped bytes, master key fingerprint).

    ``aad`` must name the schema and the row (it is needed again to unwrap).
    """
    master = master_key()
    return _wrap_with(master, plain, aad), fingerprint(master)


def unwrap(wrapped: bytes, *, key_id: str, aad: bytes) -> bytes:
    """Raises MasterKeyUnavailable (key not held) or SealedValueUnreadable (altered, moved)."""
    master = _master_for(key_id)
    try:
        return _unwrap_with(master, bytes(wrapped), aad)
    except (InvalidTag, ValueError):
        raise SealedValueUnreadable(
            "A wrapped key does not unwrap with its master key: it was altered or moved."
        ) from None


# --- sealed secrets (text columns) --------------------------------------------------------------


def _sealing_key(master: bytes, *, purpose: str, schema: str) -> AESGCM:
    info = f"alpr-portal/seal/{SEAL_VERSION}/{purpose}/{schema}".encode()
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master))


def _seal_aad(*, purpose: str, schema: str, context: str) -> bytes:
    return f"alpr-seal:{SEAL_VERSION}:{schema}:{purpose}:{context}".encode()


def _seal_with(master: bytes, secret: bytes, *, purpose: str, context: str, schema: str) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    body = _sealing_key(master, purpose=purpose, schema=schema).encrypt(
        nonce, secret, _seal_aad(purpose=purpose, schema=schema, context=context)
    )
    return f"{SEAL_VERSION}:{fingerprint(master)}:{base64.b64encode(nonce + body).decode()}"


def _parse_sealed(value: str) -> tuple[str, bytes]:
    version, _, rest = (value or "").partition(":")
    key_id, _, payload = rest.partition(":")
    if version != SEAL_VERSION or len(key_id) != 16 or not payload:
        raise SealedValueUnreadable(
            "A sealed value is in a format this version does not read; run 'manage.py migrate'."
        )
    try:
        raw = base64.b64decode(payload, validate=True)
    except (ValueError, binascii.Error):
        raise SealedValueUnreadable("A sealed value is damaged (not base64).") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise SealedValueUnreadable("A sealed value is damaged (too short).")
    return key_id, raw


def _open_with(master: bytes, raw: bytes, *, purpose: str, context: str, schema: str) -> bytes:
    try:
        return _sealing_key(master, purpose=purpose, schema=schema).decrypt(
            raw[:NONCE_BYTES],
            raw[NONCE_BYTES:],
            _seal_aad(purpose=purpose, schema=schema, context=context),
        )
    except InvalidTag:
        raise SealedValueUnreadable(
            "A sealed value does not open: it was altered, or copied from another row or agency."
        ) from None


def seal(secret: bytes, *, purpose: str, context: str) -> str:
    """Seal ``secret`` for the current schema; ``context`` names the owning row."""
    return _seal_with(master_key(), secret, purpose=purpose, context=context, schema=_schema())


def unseal(value: str, *, purpose: str, context: str) -> bytes:
    """Open a sealed value of the current schema, or raise a KeyringError saying why not."""
    key_id, raw = _parse_sealed(value)
    return _open_with(_master_for(key_id), raw, purpose=purpose, context=context, schema=_schema())


def sealed_key_id(value: str) -> str | None:
    """The fingerprint a sealed value names, or None when it is not in the current format."""
    try:
        return _parse_sealed(value)[0]
    except SealedValueUnreadable:
        return None


# --- per-schema keys (SchemaKey rows) -----------------------------------------------------------


def schema_key_aad(*, schema: str, purpose: str) -> bytes:
    return f"alpr-schema-key:v1:{schema}:{purpose}".encode()


_SCHEMA_KEY_PURPOSES: set[str] = set()


def schema_key(purpose: str) -> bytes:
    """This schema's random key for ``purpose``, created (and stored wrapped) on first use."""
    from tenants.keyring.models import SchemaKey

    if purpose not in _SCHEMA_KEY_PURPOSES:
        raise KeyringError(
            f"The schema key purpose {purpose!r} is not registered: call "
            "register_schema_key() in the app's ready() so rotation re-wraps it."
        )
    schema = _schema()
    aad = schema_key_aad(schema=schema, purpose=purpose)
    row = SchemaKey.objects.filter(purpose=purpose).first()
    if row is None:
        wrapped, key_id = wrap(secrets.token_bytes(KEY_BYTES), aad=aad)
        try:
            # A savepoint, so a concurrent creator's row wins without breaking the caller.
            with transaction.atomic():
                row = SchemaKey.objects.create(
                    purpose=purpose, wrapped_key=wrapped, master_key_id=key_id
                )
        except IntegrityError:
            row = SchemaKey.objects.get(purpose=purpose)
    return unwrap(bytes(row.wrapped_key), key_id=row.master_key_id, aad=aad)


def keyed_digest(message: bytes, *, purpose: str, length: int = 16) -> str:
    """HMAC-SHA256 of ``message`` under this schema's ``purpose`` key, as hex (``length`` chars).

    The digest cannot be recomputed without the key; rotation re-wraps the key, never the digests.
    """
    return hmac.new(schema_key(purpose), message, hashlib.sha256).hexdigest()[:length]


# --- rotation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepCount:
    resealed: int = 0  # values that were under an old master key and now are under the current
    already_current: int = 0  # values already under the current master key (left alone)
    destroyed: int = 0  # values with nothing left to re-seal (e.g. a destroyed day key)
    note: str = ""


@dataclass(frozen=True)
class Rotation:
    """What a re-seal step gets: the schema, the current key, the old keys given."""

    schema: str
    current: bytes
    old_keys: dict[str, bytes]
    used_key_ids: set[str] = field(default_factory=set)  # old keys something was under

    @property
    def current_id(self) -> str:
        return fingerprint(self.current)

    def old_key(self, key_id: str, *, what: str) -> bytes:
        key = self.old_keys.get(key_id)
        if key is None:
            raise RotationError(
                f"{what} in {self.schema} is under master key {key_id}, which was not given; "
                f"nothing in {self.schema} was changed. Give that key with --old-key-file."
            )
        self.used_key_ids.add(key_id)
        return key

    def rewrap(self, wrapped: bytes | memoryview, *, key_id: str, aad: bytes, what: str) -> bytes:
        """Unwrap with the old key ``key_id`` names, wrap again with the current key."""
        old = self.old_key(key_id, what=what)
        try:
            plain = _unwrap_with(old, bytes(wrapped), aad)
        except (InvalidTag, ValueError):
            raise RotationError(
                f"{what} in {self.schema} does not unwrap with master key {key_id}: it was "
                f"altered or moved; nothing in {self.schema} was changed."
            ) from None
        return _wrap_with(self.current, plain, aad)

    def reseal(self, value: str, *, purpose: str, context: str, what: str) -> str:
        """Open a sealed value with the old key it names, seal it again with the current key."""
        try:
            key_id, raw = _parse_sealed(value)
        except SealedValueUnreadable as exc:
            raise RotationError(
                f"{what} in {self.schema}: {exc} Nothing in {self.schema} was changed."
            ) from None
        old = self.old_key(key_id, what=what)
        try:
            plain = _open_with(old, raw, purpose=purpose, context=context, schema=self.schema)
        except SealedValueUnreadable as exc:
            raise RotationError(
                f"{what} in {self.schema}: {exc} Nothing in {self.schema} was changed."
            ) from None
        return _seal_with(self.current, plain, purpose=purpose, context=context, schema=self.schema)


@dataclass(frozen=True)
class ResealStep:
    name: str
    label: str
    run: Callable[[Rotation], StepCount]
    in_public: bool  # whether the step's table exists in the public schema too
    verb: str  # how the report words it: "re-wrapped" (keys) or "re-sealed" (secrets)


_STEPS: dict[str, ResealStep] = {}


def register_reseal_step(
    *,
    name: str,
    label: str,
    run: Callable[[Rotation], StepCount],
    in_public: bool = False,
    verb: str = "re-sealed",
) -> None:
    """Make ``rotate()`` run ``run`` in every schema (``in_public``: the platform's too).

    ``run`` must leave values already under ``rotation.current_id`` alone (reruns are safe)
    and raise RotationError (via ``rotation.old_key``) rather than skip what it cannot open.
    Registering the same name again replaces the step.
    """
    _STEPS[name] = ResealStep(name=name, label=label, run=run, in_public=in_public, verb=verb)


def reseal_steps() -> list[ResealStep]:
    return list(_STEPS.values())


def register_sealed_field(
    *,
    name: str,
    label: str,
    model: str,
    field: str,
    purpose: str,
    context: Callable[[Any], str],
    in_public: bool = True,
) -> None:
    """Register a text column holding ``seal(..., purpose=purpose, context=context(row))``."""

    def run(rotation: Rotation) -> StepCount:
        from django.apps import apps

        model_class = apps.get_model(model)
        resealed = current = 0
        for row in model_class.objects.select_for_update().order_by("pk"):
            value = getattr(row, field)
            if not value:
                continue
            if sealed_key_id(value) == rotation.current_id:
                current += 1
                continue
            new_value = rotation.reseal(
                value, purpose=purpose, context=context(row), what=f"{label} #{row.pk}"
            )
            # A plain UPDATE of one column: no save() side effects, other columns untouched.
            model_class.objects.filter(pk=row.pk).update(**{field: new_value})
            resealed += 1
        return StepCount(resealed=resealed, already_current=current)

    register_reseal_step(name=name, label=label, run=run, in_public=in_public)


def register_schema_key(
    *,
    purpose: str,
    label: str,
    covers: Callable[[], int] | None = None,
    covers_noun: str = "",
    in_public: bool = True,
) -> None:
    """Allow ``schema_key(purpose)`` and have rotation re-wrap that key in every schema.

    ``covers`` counts what depends on the key (reported, e.g. the backup codes it verifies).
    """
    _SCHEMA_KEY_PURPOSES.add(purpose)

    def run(rotation: Rotation) -> StepCount:
        from django.utils import timezone

        from tenants.keyring.models import SchemaKey

        resealed = current = 0
        for row in SchemaKey.objects.select_for_update().filter(purpose=purpose):
            if row.master_key_id == rotation.current_id:
                current += 1
                continue
            row.wrapped_key = rotation.rewrap(
                row.wrapped_key,
                key_id=row.master_key_id,
                aad=schema_key_aad(schema=rotation.schema, purpose=purpose),
                what=f"The {label}",
            )
            row.master_key_id = rotation.current_id
            row.rewrapped_at = timezone.now()
            row.save(update_fields=["wrapped_key", "master_key_id", "rewrapped_at"])
            resealed += 1
        note = f"covers {covers()} {covers_noun}".rstrip() if covers is not None else ""
        return StepCount(resealed=resealed, already_current=current, note=note)

    register_reseal_step(
        name=f"schema-key:{purpose}", label=label, run=run, in_public=in_public, verb="re-wrapped"
    )


@dataclass(frozen=True)
class SchemaReport:
    schema: str
    counts: tuple[tuple[ResealStep, StepCount], ...]  # per step, in registration order
    error: str = ""  # set when the schema was not rotated (and nothing in it changed)


def rotate_schema(*, schema: str, old_keys: Iterable[bytes] = ()) -> SchemaReport:
    """Re-seal everything of one schema under the current master key, in one transaction."""
    from django_tenants.utils import get_public_schema_name, schema_context

    current = master_key()
    olds = _old_keys(old_keys)
    olds.pop(fingerprint(current), None)
    rotation = Rotation(schema=schema, current=current, old_keys=olds)
    counts: list[tuple[ResealStep, StepCount]] = []
    try:
        with schema_context(schema), transaction.atomic():
            for step in _STEPS.values():
                if schema == get_public_schema_name() and not step.in_public:
                    continue
                counts.append((step, step.run(rotation)))
            _record_rotation(rotation, counts)
    except KeyringError as exc:
        return SchemaReport(schema=schema, counts=(), error=str(exc))
    except DatabaseError as exc:  # e.g. the access log refused the entry: nothing changed
        return SchemaReport(
            schema=schema,
            counts=(),
            error=f"The database refused the rotation of {schema} ({exc}); nothing in {schema} "
            "was changed. Fix the cause and run the command again.",
        )
    return SchemaReport(schema=schema, counts=tuple(counts))


ROTATION_ACTOR = "system:rotate-master-key"


def _record_rotation(rotation: Rotation, counts: list[tuple[ResealStep, StepCount]]) -> None:
    """``key_rotated`` in the schema's own access log, in the rotation's transaction: the key
    fingerprints and the counts per step, never key material."""
    from audit.models import Action
    from audit.services import record_event

    resealed = sum(count.resealed for _, count in counts)
    record_event(
        action=Action.KEY_ROTATED,
        username=ROTATION_ACTOR,
        reason=f"{resealed} value(s) re-sealed under master key {rotation.current_id}.",
        details={
            "key_id": rotation.current_id,
            "previous_key_ids": sorted(rotation.used_key_ids),
            "steps": {
                step.name: {
                    "label": step.label,
                    "resealed": count.resealed,
                    "already_current": count.already_current,
                    "destroyed": count.destroyed,
                    "note": count.note,
                }
                for step, count in counts
            },
        },
    )


def rotate(*, old_keys: Iterable[bytes] = ()) -> list[SchemaReport]:
    """Rotate the platform (public) and every agency schema; one report per schema.

    A schema that fails is left as it was and the others are still rotated; run again with the
    missing key. Values already under the current key are skipped, so reruns are harmless.
    """
    from django_tenants.utils import get_public_schema_name

    from tenants.models import Agency

    old_keys = list(old_keys)
    public = get_public_schema_name()
    agencies = (
        Agency.objects.exclude(schema_name=public)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    return [rotate_schema(schema=schema, old_keys=old_keys) for schema in [public, *agencies]]
