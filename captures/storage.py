"""Encrypted image storage: AES-256-GCM, one data key per agency and UTC day.

Layout and format
-----------------
* Files live under ``settings.ALPR_STORAGE_DIR/<schema>/<YYYY-MM-DD>/<uuid>.bin``; the
  stored *name* (what a Capture row keeps) is ``<YYYY-MM-DD>/<uuid>.bin``, relative to the
  current agency schema's folder. Names are chosen here, never by a client.
* A file is ``MAGIC + nonce(12) + ciphertext||tag``. The associated data binds the schema
  and the name, so a file copied to another agency or renamed fails to decrypt.
* Each UTC day of an agency has its own random 256-bit data key (a ``DataKey`` row in the
  agency's schema), stored wrapped (AES-256-GCM) by the master key from the environment
  (``settings.ALPR_MASTER_KEY``). The row records which master key wrapped it (a short
  fingerprint, never the key). ``destroy_day_key`` empties the wrapped key, after which
  that day's files are unreadable everywhere, backups included.

Every function works in the *current* schema (``connection.schema_name``): call them
inside the agency's tenant/schema context.

Public interface (used by services, the image view, retention and management commands)::

    store_image(*, day: date, data: bytes) -> str
    load_image(name: str) -> bytes                  # raises ImageDecryptError
    delete_image(name: str) -> bool
    iter_stored_names(*, before_day: date | None = None) -> Iterator[str]
    destroy_day_key(day: date) -> bool
    rewrap_data_keys(*, old_master_keys: Iterable[bytes]) -> RewrapResult
    master_key_id(key: bytes) -> str
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import secrets
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from captures.models import DataKey

MAGIC = b"ALPRIMG1"
NONCE_BYTES = 12
_NAME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})/([0-9a-f]{32})\.bin$")


class ImageStorageError(Exception):
    """Base class of storage errors."""


class ImageDecryptError(ImageStorageError):
    """The image cannot be read back: missing file, missing/destroyed key or tampered bytes."""


class StorageNameError(ImageStorageError, ValueError):
    """A name that this storage did not produce."""


def master_key_id(key: bytes) -> str:
    """A short, non-secret fingerprint naming a master key (16 hex characters)."""
    return hashlib.sha256(b"alpr-master-key-id:" + key).hexdigest()[:16]


def _wrap_aad(schema: str, day: datetime.date) -> bytes:
    return f"alpr-datakey:v1:{schema}:{day.isoformat()}".encode()


def _file_aad(schema: str, name: str) -> bytes:
    return f"alpr-image:v1:{schema}:{name}".encode()


def _wrap(master: bytes, schema: str, day: datetime.date, data_key: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, data_key, _wrap_aad(schema, day))


def _unwrap(master: bytes, schema: str, day: datetime.date, wrapped: bytes) -> bytes:
    nonce, body = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
    return AESGCM(master).decrypt(nonce, body, _wrap_aad(schema, day))


@dataclass(frozen=True)
class RewrapResult:
    rewrapped: int  # keys now wrapped by the current master key that were not before
    already_current: int  # keys that were wrapped by the current master key already
    destroyed: int  # destroyed keys (nothing to wrap)


class EncryptedImageStorage:
    """The one place where image bytes are encrypted, written, read and deleted."""

    def __init__(self, *, root: Path | str | None = None, master_key: bytes | None = None):
        self._root = Path(root) if root is not None else None
        self._master = master_key

    # -- configuration (read late so tests can override settings) --------------------
    @property
    def root(self) -> Path:
        return self._root if self._root is not None else Path(settings.ALPR_STORAGE_DIR)

    @property
    def master_key(self) -> bytes:
        key = self._master if self._master is not None else settings.ALPR_MASTER_KEY
        if not key or len(key) != 32:
            raise ImageStorageError("ALPR_MASTER_KEY must be 32 bytes.")
        return key

    @staticmethod
    def _schema() -> str:
        schema = connection.schema_name
        if not schema or schema == "public":
            raise ImageStorageError("Images belong to an agency: call this in the agency's schema.")
        return schema

    def _schema_dir(self, schema: str) -> Path:
        return self.root / schema

    def path_of(self, name: str) -> Path:
        _parse_name(name)
        return self._schema_dir(self._schema()) / name

    # -- data keys --------------------------------------------------------------------
    def _data_key(self, day: datetime.date, *, create: bool) -> bytes:
        schema = self._schema()
        master = self.master_key
        row = DataKey.objects.filter(day=day).first()
        if row is None:
            if not create:
                raise ImageDecryptError(
                    f"There is no image key for {day.isoformat()} in this agency; "
                    "the image cannot be decrypted."
                )
            row = self._create_key(day, schema, master)
        if row.destroyed_at is not None or not row.wrapped_key:
            raise ImageDecryptError(
                f"The image key for {day.isoformat()} was destroyed (retention purge); "
                "the image can no longer be decrypted."
            )
        current_id = master_key_id(master)
        if row.master_key_id != current_id:
            raise ImageDecryptError(
                f"The image key for {day.isoformat()} is wrapped by another master key "
                f"(id {row.master_key_id}, current {current_id}); run "
                "'manage.py rotate_master_key' with the old key to re-wrap it."
            )
        try:
            return _unwrap(master, schema, day, bytes(row.wrapped_key))
        except InvalidTag:
            raise ImageDecryptError(
                f"The image key for {day.isoformat()} does not unwrap with the master key: "
                "it was altered or belongs to another agency."
            ) from None

    @staticmethod
    def _create_key(day: datetime.date, schema: str, master: bytes) -> DataKey:
        wrapped = _wrap(master, schema, day, AESGCM.generate_key(bit_length=256))
        try:
            # A savepoint, so a concurrent creator's row wins without breaking the caller.
            with transaction.atomic():
                return DataKey.objects.create(
                    day=day, wrapped_key=wrapped, master_key_id=master_key_id(master)
                )
        except IntegrityError:
            return DataKey.objects.get(day=day)

    def destroy_day_key(self, day: datetime.date) -> bool:
        """Crypto-shred one day: its files become unreadable. True if a live key was destroyed."""
        self._schema()
        updated = DataKey.objects.filter(day=day, destroyed_at__isnull=True).update(
            wrapped_key=None, destroyed_at=timezone.now()
        )
        return bool(updated)

    def rewrap_data_keys(self, *, old_master_keys: Iterable[bytes]) -> RewrapResult:
        """Re-wrap every data key of the current schema with the current master key.

        Keys wrapped by one of ``old_master_keys`` are unwrapped with it and wrapped again;
        keys already under the current key are left alone, so a rerun is harmless.
        Raises ImageStorageError (and changes nothing) when a key's master is not given.
        """
        schema = self._schema()
        master = self.master_key
        current_id = master_key_id(master)
        olds = {master_key_id(k): k for k in old_master_keys}
        counts = {"rewrapped": 0, "already_current": 0, "destroyed": 0}
        with transaction.atomic():
            for row in DataKey.objects.select_for_update().order_by("day"):
                if row.destroyed_at is not None or not row.wrapped_key:
                    counts["destroyed"] += 1
                    continue
                if row.master_key_id == current_id:
                    counts["already_current"] += 1
                    continue
                old = olds.get(row.master_key_id)
                if old is None:
                    raise ImageStorageError(
                        f"The image key for {row.day.isoformat()} in {schema} is wrapped by master "
                        f"key id {row.master_key_id}, which was not given; nothing was changed."
                    )
                try:
                    plain = _unwrap(old, schema, row.day, bytes(row.wrapped_key))
                except InvalidTag:
                    raise ImageStorageError(
                        f"The image key for {row.day.isoformat()} in {schema} does not unwrap with "
                        "the old master key; nothing was changed."
                    ) from None
                row.wrapped_key = _wrap(master, schema, row.day, plain)
                row.master_key_id = current_id
                row.save(update_fields=["wrapped_key", "master_key_id"])
                counts["rewrapped"] += 1
        return RewrapResult(**counts)

    # -- files ------------------------------------------------------------------------
    def store_image(self, *, day: datetime.date, data: bytes) -> str:
        """Encrypt ``data`` with ``day``'s key and write it; returns the new file's name."""
        schema = self._schema()
        key = self._data_key(day, create=True)
        name = f"{day.isoformat()}/{uuid.uuid4().hex}.bin"
        nonce = secrets.token_bytes(NONCE_BYTES)
        blob = MAGIC + nonce + AESGCM(key).encrypt(nonce, data, _file_aad(schema, name))
        path = self._schema_dir(schema) / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Write to a temporary file and rename, so a crash never leaves a half-written image.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name

    def load_image(self, name: str) -> bytes:
        """Decrypt and return the image bytes, or raise ImageDecryptError saying why not."""
        schema = self._schema()
        day = _parse_name(name)
        path = self._schema_dir(schema) / name
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise ImageDecryptError(f"The image file {name} is missing.") from None
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_BYTES + 16:
            raise ImageDecryptError(
                f"The image file {name} is not an encrypted image of this portal."
            )
        key = self._data_key(day, create=False)
        nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
        try:
            return AESGCM(key).decrypt(
                nonce, blob[len(MAGIC) + NONCE_BYTES :], _file_aad(schema, name)
            )
        except InvalidTag:
            raise ImageDecryptError(
                f"The image file {name} failed its integrity check: it was altered, truncated "
                "or moved from elsewhere, and cannot be decrypted."
            ) from None

    def delete_image(self, name: str) -> bool:
        """Remove the file; True if it existed. Empty day folders are left for the purge."""
        path = self.path_of(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def iter_stored_names(self, *, before_day: datetime.date | None = None) -> Iterator[str]:
        """Names of the files stored for the current schema, oldest day first.

        With ``before_day``, only days strictly before it. For orphan checks and purges.
        """
        base = self._schema_dir(self._schema())
        if not base.is_dir():
            return
        for day_dir in sorted(base.iterdir()):
            if not day_dir.is_dir():
                continue
            try:
                day = datetime.date.fromisoformat(day_dir.name)
            except ValueError:
                continue
            if before_day is not None and day >= before_day:
                continue
            for entry in sorted(day_dir.iterdir()):
                name = f"{day_dir.name}/{entry.name}"
                if _NAME_RE.match(name):
                    yield name


def _parse_name(name: str) -> datetime.date:
    match = _NAME_RE.match(name or "")
    if not match:
        raise StorageNameError(f"{name!r} is not an image name of this storage.")
    return datetime.date.fromisoformat(match.group(1))


def day_of_name(name: str) -> datetime.date:
    """The UTC day (and so the data key) of a stored name."""
    return _parse_name(name)


image_storage = EncryptedImageStorage()


def store_image(*, day: datetime.date, data: bytes) -> str:
    return image_storage.store_image(day=day, data=data)


def load_image(name: str) -> bytes:
    return image_storage.load_image(name)


def delete_image(name: str) -> bool:
    return image_storage.delete_image(name)


def iter_stored_names(*, before_day: datetime.date | None = None) -> Iterator[str]:
    return image_storage.iter_stored_names(before_day=before_day)


def destroy_day_key(day: datetime.date) -> bool:
    return image_storage.destroy_day_key(day)


def rewrap_data_keys(*, old_master_keys: Iterable[bytes]) -> RewrapResult:
    return image_storage.rewrap_data_keys(old_master_keys=old_master_keys)
