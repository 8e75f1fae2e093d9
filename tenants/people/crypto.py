"""Encryption of second-factor secrets at rest (AES-256-GCM, key derived from the master key).

A copy of the database alone does not reveal anyone's TOTP secret: the key that seals them is
derived (HKDF-SHA256) from ``settings.ALPR_MASTER_KEY``, which never lives in the database.
Each sealed value is bound to its owner (associated data), so it cannot be moved to another row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = "v1"
_INFO = b"alpr-portal/otp-secret/v1"


class SecretUnreadable(Exception):
    """A sealed secret that does not open with the current master key (wrong key or tampered)."""


def _aead() -> AESGCM:
    master = settings.ALPR_MASTER_KEY
    if not isinstance(master, bytes) or len(master) != 32:
        raise SecretUnreadable("ALPR_MASTER_KEY is missing or not 32 bytes.")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master)
    return AESGCM(key)


def seal(secret: bytes, *, context: str) -> str:
    """Encrypt ``secret``; ``context`` (e.g. the owner) must be given again to open it."""
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, secret, context.encode())
    return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def unseal(value: str, *, context: str) -> bytes:
    version, _, payload = value.partition(":")
    if version != _VERSION or not payload:
        raise SecretUnreadable("Unknown format of a sealed secret.")
    try:
        raw = base64.b64decode(payload, validate=True)
        return _aead().decrypt(raw[:12], raw[12:], context.encode())
    except (InvalidTag, ValueError) as exc:
        raise SecretUnreadable("The sealed secret does not open with the current key.") from exc


def backup_code_digest(code: str) -> str:
    """What is stored for a backup code: a keyed hash (16 hex characters), not the code.

    Keyed with a master-key-derived key, so the short codes cannot be guessed offline from a
    copy of the database.
    """
    master = settings.ALPR_MASTER_KEY
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"alpr-portal/backup-codes/v1"
    ).derive(master)
    normalized = code.strip().lower().replace(" ", "").replace("-", "")
    return hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()[:16]
