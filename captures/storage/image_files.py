"""Encrypted image storage: AES-256-GCM, one data key per agency and UTC day.

Layout and format
-----------------
* Files live under ``settings.ALPR_STORAGE_DIR/<schema>/<YYYY-MM-DD>/<uuid>.bin`` (or as the
  objects of those keys in an S3-compatible bucket: ``ALPR_STORAGE=s3``, ``backends.py``); the
  stored *name* (what a Capture row keeps) is ``<YYYY-MM-DD>/<uuid>.bin``, relative to the
  current agency schema's folder. Names are chosen here, never by a client.
* A file is ``MAGIC + nonce(12) + ciphertext||tag``. The associated data binds the schema
  and the name, so a file copied to another agency or renamed fails to decrypt.
* Each UTC day of an agency has its own random 256-bit data key (a ``DataKey`` row in the
  agency's schema), stored wrapped by the master key through ``tenants.keyring`` (the one owner
  of the master key). The row records which master key wrapped it (its fingerprint, never the
  key). ``destroy_day_key`` empties the wrapped key, after which that day's files are
  unreadable everywhere, backups included, and no new capture of that day can be stored.
* Master key rotation re-wraps the data keys (``rewrap_data_keys``, registered with the keyring
  by CapturesConfig.ready); image files are never rewritten.

Every function works in the *current* schema (``tenants.schema.current_schema()``): call them
inside the agency's tenant/schema context.

Public interface (used by services, the image view, retention and management commands)::

    store_image(*, day: date, data: bytes) -> str   # raises DayKeyDestroyed for a shredded day
    store_images(*, day: date, datas: list[bytes]) -> list[str]  # one key lookup for all
    load_image(name: str) -> bytes                  # raises ImageDecryptError (DayKeyDestroyed)
    delete_image(name: str) -> bool
    delete_images(names: list[str]) -> int            # many at once, in parallel
    iter_stored_names(*, before_day: date | None = None) -> Iterator[str]
    destroy_day_key(day: date) -> bool
    day_key_destroyed(day: date) -> bool
    rewrap_data_keys(rotation: keyring.Rotation) -> keyring.StepCount
"""

from __future__ import annotations

import datetime
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from captures.models import DataKey
from captures.storage.backends import BlobStore, blob_store, delete_many
from tenants import keyring
from tenants.keyring import fingerprint as master_key_id  # noqa: F401  (re-exported)
from tenants.schemas import PUBLIC_SCHEMA, current_schema

MAGIC = b"ALPRIMG1"
NONCE_BYTES = 12
_NAME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})/([0-9a-f]{32})\.bin$")


class ImageStorageError(Exception):
    """Base class of storage errors."""


class ImageDecryptError(ImageStorageError):
    """The image cannot be read back: missing file, missing/destroyed key or tampered bytes."""


class StorageNameError(ImageStorageError, ValueError):
    """A name that this storage did not produce."""


class DayKeyDestroyed(ImageDecryptError):
    """The day's data key was destroyed: its images are gone and no new one can be stored."""

    def __init__(self, day: datetime.date):
        super().__init__(
            f"The image key for {day.isoformat()} was destroyed (retention purge); "
            "the image can no longer be decrypted."
        )
        self.day = day


def _wrap_aad(schema: str, day: datetime.date) -> bytes:
    return f"alpr-datakey:v1:{schema}:{day.isoformat()}".encode()


def _file_aad(schema: str, name: str) -> bytes:
    return f"alpr-image:v1:{schema}:{name}".encode()


class EncryptedImageStorage:
    """The one place where image bytes are encrypted, written, read and deleted."""

    def __init__(self, *, root: Path | str | None = None):
        self._root = Path(root) if root is not None else None

    # -- configuration (read late so tests can override settings) --------------------
    @property
    def root(self) -> Path:
        return self._root if self._root is not None else Path(settings.ALPR_STORAGE_DIR)

    @staticmethod
    def _schema() -> str:
        schema = current_schema()
        if not schema or schema == PUBLIC_SCHEMA:
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
        row = DataKey.objects.filter(day=day).first()
        if row is None:
            if not create:
                raise ImageDecryptError(
                    f"There is no image key for {day.isoformat()} in this agency; "
                    "the image cannot be decrypted."
                )
            row = self._create_key(day, schema)
        if row.destroyed_at is not None or not row.wrapped_key:
            raise DayKeyDestroyed(day)
        try:
            return keyring.unwrap(
                bytes(row.wrapped_key), key_id=row.master_key_id, aad=_wrap_aad(schema, day)
            )
        except keyring.MasterKeyUnavailable:
            raise ImageDecryptError(
                f"The image key for {day.isoformat()} is wrapped by another master key "
                f"(id {row.master_key_id}, current {keyring.current_key_id()}); run "
                "'manage.py rotate_master_key' with the old key to re-wrap it."
            ) from None
        except keyring.SealedValueUnreadable:
            raise ImageDecryptError(
                f"The image key for {day.isoformat()} does not unwrap with the master key: "
                "it was altered or belongs to another agency."
            ) from None
        except keyring.KeyringError as exc:
            raise ImageStorageError(str(exc)) from None

    @staticmethod
    def _create_key(day: datetime.date, schema: str) -> DataKey:
        try:
            wrapped, key_id = keyring.wrap(
                AESGCM.generate_key(bit_length=256), aad=_wrap_aad(schema, day)
            )
        except keyring.KeyringError as exc:
            raise ImageStorageError(str(exc)) from None
        try:
            # A savepoint, so a concurrent creator's row wins without breaking the caller.
            with transaction.atomic():
                return DataKey.objects.create(day=day, wrapped_key=wrapped, master_key_id=key_id)
        except IntegrityError:
            return DataKey.objects.get(day=day)

    def day_key_destroyed(self, day: datetime.date) -> bool:
        """Whether ``day``'s key was destroyed (nothing of that day can be read or stored)."""
        self._schema()
        return DataKey.objects.filter(day=day, destroyed_at__isnull=False).exists()

    def destroy_day_key(self, day: datetime.date) -> bool:
        """Crypto-shred one day: its files become unreadable. True if a live key was destroyed."""
        self._schema()
        updated = DataKey.objects.filter(day=day, destroyed_at__isnull=True).update(
            wrapped_key=None, destroyed_at=timezone.now()
        )
        return bool(updated)

    def rewrap_data_keys(self, rotation: keyring.Rotation) -> keyring.StepCount:
        """Master key rotation of this schema's data keys (a keyring re-seal step).

        Keys under an old master key are unwrapped with it and wrapped again; keys already
        under the current key are left alone, so a rerun is harmless. Raises RotationError
        (and the keyring rolls the schema back) when a key's old master key is not given.
        """
        schema = self._schema()
        counts = {"resealed": 0, "already_current": 0, "destroyed": 0}
        for row in DataKey.objects.select_for_update().order_by("day"):
            if row.destroyed_at is not None or not row.wrapped_key:
                counts["destroyed"] += 1
                continue
            if row.master_key_id == rotation.current_id:
                counts["already_current"] += 1
                continue
            row.wrapped_key = rotation.rewrap(
                bytes(row.wrapped_key),
                key_id=row.master_key_id,
                aad=_wrap_aad(schema, row.day),
                what=f"The image key for {row.day.isoformat()}",
            )
            row.master_key_id = rotation.current_id
            row.save(update_fields=["wrapped_key", "master_key_id"])
            counts["resealed"] += 1
        return keyring.StepCount(
            resealed=counts["resealed"],
            already_current=counts["already_current"],
            destroyed=counts["destroyed"],
        )

    # -- files ------------------------------------------------------------------------
    @property
    def blobs(self) -> BlobStore:
        """Where the blobs are: the local folder (default) or the S3 bucket (ALPR_STORAGE)."""
        return blob_store(self._root)

    def store_image(self, *, day: datetime.date, data: bytes) -> str:
        """Encrypt ``data`` with ``day``'s key and write it; returns the new file's name."""
        return self.store_images(day=day, datas=[data])[0]

    def store_images(self, *, day: datetime.date, datas: list[bytes]) -> list[str]:
        """Encrypt and write several images of one day (one key lookup); their new names.

        When a write fails, the files already written are removed before the error is raised.
        """
        schema = self._schema()
        cipher = AESGCM(self._data_key(day, create=True))
        blobs = self.blobs
        names: list[str] = []
        try:
            for data in datas:
                name = f"{day.isoformat()}/{uuid.uuid4().hex}.bin"
                nonce = secrets.token_bytes(NONCE_BYTES)
                blob = MAGIC + nonce + cipher.encrypt(nonce, data, _file_aad(schema, name))
                blobs.write(f"{schema}/{name}", blob)
                names.append(name)
        except BaseException:
            for name in names:
                blobs.delete(f"{schema}/{name}")
            raise
        return names

    def load_image(self, name: str) -> bytes:
        """Decrypt and return the image bytes, or raise ImageDecryptError saying why not."""
        schema = self._schema()
        day = _parse_name(name)
        try:
            blob = self.blobs.read(f"{schema}/{name}")
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
        _parse_name(name)
        return self.blobs.delete(f"{self._schema()}/{name}")

    def delete_images(self, names: list[str]) -> int:
        """Remove many files (in parallel); the number that existed. Idempotent."""
        schema = self._schema()
        for name in names:
            _parse_name(name)
        return delete_many(self.blobs, [f"{schema}/{name}" for name in names])

    def iter_stored_names(self, *, before_day: datetime.date | None = None) -> Iterator[str]:
        """Names of the files stored for the current schema, oldest day first.

        With ``before_day``, only days strictly before it. For orphan checks and purges.
        """
        schema = self._schema()
        for day_name in self.blobs.days(schema):
            day = datetime.date.fromisoformat(day_name)
            if before_day is not None and day >= before_day:
                continue
            for entry in self.blobs.files(schema, day_name):
                name = f"{day_name}/{entry}"
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


def store_images(*, day: datetime.date, datas: list[bytes]) -> list[str]:
    return image_storage.store_images(day=day, datas=datas)


def load_image(name: str) -> bytes:
    return image_storage.load_image(name)


def delete_image(name: str) -> bool:
    return image_storage.delete_image(name)


def delete_images(names: list[str]) -> int:
    return image_storage.delete_images(names)


def iter_stored_names(*, before_day: datetime.date | None = None) -> Iterator[str]:
    return image_storage.iter_stored_names(before_day=before_day)


def destroy_day_key(day: datetime.date) -> bool:
    return image_storage.destroy_day_key(day)


def day_key_destroyed(day: datetime.date) -> bool:
    return image_storage.day_key_destroyed(day)


def rewrap_data_keys(rotation: keyring.Rotation) -> keyring.StepCount:
    return image_storage.rewrap_data_keys(rotation)
