"""The agency's evidence-signing key: Ed25519, one per agency schema, kept by the keyring.

The 32-byte private key is the schema's keyring key for ``evidence-signing`` (random, stored
wrapped by the master key, re-wrapped on rotation, so every package signed before a rotation
still verifies). Its public key is shown on the agency's transparency page; the encodings and
the key id are those of the access-log checkpoints (``audit.checkpoint``).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit import checkpoint
from tenants import keyring
from tenants.keyring.models import SchemaKey

PURPOSE = "evidence-signing"


def register_with_keyring() -> None:
    keyring.register_schema_key(
        purpose=PURPOSE, label="evidence-package signing key", in_public=False
    )


def signing_key() -> Ed25519PrivateKey:
    """This agency's private signing key (made on first use, in the current schema)."""
    return Ed25519PrivateKey.from_private_bytes(keyring.schema_key(PURPOSE))


def public_key(*, create: bool = False) -> Ed25519PublicKey | None:
    """This agency's public key; None when no package was ever signed and ``create`` is off
    (a page view writes nothing)."""
    if not create and not SchemaKey.objects.filter(purpose=PURPOSE).exists():
        return None
    return signing_key().public_key()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return checkpoint.public_key_pem(key)


def key_id(key: Ed25519PublicKey) -> str:
    return checkpoint.key_id(key)
