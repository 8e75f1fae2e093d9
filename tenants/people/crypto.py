"""The second factor's secrets at rest, through the keyring (tenants.keyring owns the keys).

- TOTP secrets are sealed (AES-256-GCM) under this schema's TOTP sealing key, derived from the
  master key; the associated data names the schema and the user, so a sealed secret copied to
  another row or another agency does not open.
- Backup codes are stored as keyed hashes (HMAC-SHA256, 16 hex characters) under this schema's
  backup-code key, a random key stored wrapped by the master key: the short codes cannot be
  guessed offline from a copy of the database, and rotating the master key re-wraps that one key
  while every stored digest stays valid.

``register_with_keyring()`` (called from PeopleConfig.ready) tells the rotation about both.
"""

from __future__ import annotations

import logging

from tenants import keyring

logger = logging.getLogger(__name__)

TOTP_PURPOSE = "totp"
BACKUP_CODE_PURPOSE = "backup-codes"

SecretUnreadable = keyring.KeyringError


def _totp_context(user_id: int | None) -> str:
    return f"user:{user_id}"


def seal_totp_secret(secret: bytes, *, user_id: int | None) -> str:
    return keyring.seal(secret, purpose=TOTP_PURPOSE, context=_totp_context(user_id))


def open_totp_secret(value: str, *, user_id: int | None) -> bytes:
    """Raises SecretUnreadable (a KeyringError) when the value does not open here."""
    return keyring.unseal(value, purpose=TOTP_PURPOSE, context=_totp_context(user_id))


def normalize_backup_code(code: str) -> str:
    return code.strip().lower().replace(" ", "").replace("-", "")


def backup_code_digest(code: str) -> str:
    """What is stored for a backup code: a keyed hash (16 hex characters), not the code."""
    return keyring.keyed_digest(normalize_backup_code(code).encode(), purpose=BACKUP_CODE_PURPOSE)


def backup_code_lookup(code: str) -> str:
    """The digest to look a typed backup code up by; "" (matches nothing) if the key is unusable.

    A server-side key problem (e.g. a rotation half done) must refuse the code, not fail the
    sign-in page; the operators are told through the log.
    """
    try:
        return backup_code_digest(code)
    except keyring.KeyringError as exc:
        logger.error("backup codes of this schema cannot be checked: %s", exc)
        return ""


def _backup_code_count() -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.count()


def register_with_keyring() -> None:
    keyring.register_sealed_field(
        name="people.totp",
        label="TOTP secrets",
        model="people.EncryptedTOTPDevice",
        field="sealed_key",
        purpose=TOTP_PURPOSE,
        context=lambda device: _totp_context(device.user_id),
        in_public=True,  # platform staff sign in with a second factor too
    )
    keyring.register_schema_key(
        purpose=BACKUP_CODE_PURPOSE,
        label="backup-code digest keys",
        covers=_backup_code_count,
        covers_noun="backup codes",
        in_public=True,
    )
