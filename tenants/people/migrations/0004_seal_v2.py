"""Move the second factor's secrets to the keyring's formats, in every schema (public included).

- TOTP secrets sealed in the v1 format (no master key fingerprint, not bound to the schema) are
  opened with the current master key and sealed again as v2 (fingerprint + schema-bound).
- Backup-code digests were keyed with a key derived from the master key; that key cannot
  survive a rotation. It is stored here, wrapped, as this schema's backup-code key (a
  ``SchemaKey``), so every existing digest stays valid and rotation only re-wraps the key.

Rows that do not open with the current key are left as they are (they were already unusable;
the person's second factor must be reset) and named on the console.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.db import migrations

BACKUP_CODE_PURPOSE = "backup-codes"  # tenants.people.crypto.BACKUP_CODE_PURPOSE


def _legacy_key(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def _open_v1(master: bytes, value: str, *, user_id: int) -> bytes | None:
    payload = value.partition(":")[2]
    try:
        raw = base64.b64decode(payload, validate=True)
        return AESGCM(_legacy_key(master, b"alpr-portal/otp-secret/v1")).decrypt(
            raw[:12], raw[12:], f"totp:user:{user_id}".encode()
        )
    except (InvalidTag, ValueError, binascii.Error):
        return None


def forwards(apps, schema_editor) -> None:
    from tenants import keyring
    from tenants.keyring.core import schema_key_aad

    device_model = apps.get_model("people", "EncryptedTOTPDevice")
    token_model = apps.get_model("otp_static", "StaticToken")
    schema_key_model = apps.get_model("keyring", "SchemaKey")
    schema = schema_editor.connection.schema_name

    legacy = list(device_model.objects.filter(sealed_key__startswith="v1:"))
    needs_backup_key = (
        token_model.objects.exists()
        and not schema_key_model.objects.filter(purpose=BACKUP_CODE_PURPOSE).exists()
    )
    if not legacy and not needs_backup_key:
        return  # nothing to move: do not even ask for the master key
    master = keyring.master_key()

    for device in legacy:
        secret = _open_v1(master, device.sealed_key, user_id=device.user_id)
        if secret is None:
            print(  # noqa: T201 - migrations report on the console
                f"\n  {schema}: authenticator #{device.pk} does not open with the current "
                "master key; reset that person's second factor."
            )
            continue
        device_model.objects.filter(pk=device.pk).update(
            sealed_key=keyring.seal(secret, purpose="totp", context=f"user:{device.user_id}")
        )

    if needs_backup_key:
        legacy_digest_key = _legacy_key(master, b"alpr-portal/backup-codes/v1")
        wrapped, key_id = keyring.wrap(
            legacy_digest_key, aad=schema_key_aad(schema=schema, purpose=BACKUP_CODE_PURPOSE)
        )
        schema_key_model.objects.create(
            purpose=BACKUP_CODE_PURPOSE, wrapped_key=wrapped, master_key_id=key_id
        )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_totp_lockout"),
        ("keyring", "0001_initial"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
