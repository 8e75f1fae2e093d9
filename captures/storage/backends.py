"""Where the encrypted image blobs live: a local folder (default) or an S3-compatible bucket.

``ALPR_STORAGE=local`` keeps ``ALPR_STORAGE_DIR/<schema>/<YYYY-MM-DD>/<uuid>.bin`` (atomic
writes: a temporary part, fsync, rename). ``ALPR_STORAGE=s3`` keeps the same keys as objects in
``ALPR_S3_BUCKET`` (under ``ALPR_S3_PREFIX``), through django-storages' ``S3Storage``, at
``ALPR_S3_ENDPOINT_URL`` (MinIO, Ceph, moto, or AWS when empty) with
``ALPR_S3_ACCESS_KEY_ID``/``ALPR_S3_SECRET_ACCESS_KEY`` (or the usual AWS environment).

Only ``captures.storage`` uses this module; a blob is already encrypted when it gets here, so
the bucket's operator sees noise, and destroying a day's key (``image_files``) shreds that
day's objects wherever copies of them are.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

# Deleting many blobs: each delete waits on the disk or the network, not on the CPU.
DELETE_THREADS = 8


class BlobStore(Protocol):
    def write(self, key: str, blob: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...  # FileNotFoundError when missing
    def delete(self, key: str) -> bool: ...
    def days(self, schema: str) -> list[str]: ...
    def files(self, schema: str, day: str) -> list[str]: ...
    def remove_day(self, schema: str, day: str) -> bool: ...
    def modified(self, key: str) -> float: ...


def _is_day(name: str) -> bool:
    try:
        datetime.date.fromisoformat(name)
    except ValueError:
        return False
    return True


class LocalBlobs:
    def __init__(self, root: Path):
        self.root = root

    def write(self, key: str, blob: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A temporary file renamed into place: a crash never leaves a half-written image.
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

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def delete(self, key: str) -> bool:
        try:
            (self.root / key).unlink()
        except FileNotFoundError:
            return False
        return True

    def days(self, schema: str) -> list[str]:
        base = self.root / schema
        if not base.is_dir():
            return []
        return sorted(e.name for e in base.iterdir() if e.is_dir() and _is_day(e.name))

    def files(self, schema: str, day: str) -> list[str]:
        folder = self.root / schema / day
        if not folder.is_dir():
            return []
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.is_file(follow_symlinks=False))

    def remove_day(self, schema: str, day: str) -> bool:
        try:
            (self.root / schema / day).rmdir()
        except OSError:  # not empty (a sub-folder we do not own) or already gone
            return False
        return True

    def modified(self, key: str) -> float:
        return (self.root / key).stat().st_mtime


class S3Blobs:
    """The same keys as objects of one bucket (django-storages' S3Storage)."""

    def __init__(self, **options: Any):
        from storages.backends.s3 import S3Storage

        self.storage = S3Storage(**options)

    def write(self, key: str, blob: bytes) -> None:
        from django.core.files.base import ContentFile

        self.storage.save(key, ContentFile(blob))  # one PUT: readers see all of it or nothing

    def read(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            with self.storage.open(key, "rb") as handle:
                return bytes(handle.read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                raise FileNotFoundError(key) from None
            raise

    def delete(self, key: str) -> bool:
        if not self.storage.exists(key):
            return False
        self.storage.delete(key)
        return True

    def days(self, schema: str) -> list[str]:
        folders, _files = self.storage.listdir(f"{schema}/")
        return sorted(name for name in folders if _is_day(name))

    def files(self, schema: str, day: str) -> list[str]:
        _folders, names = self.storage.listdir(f"{schema}/{day}/")
        return sorted(names)

    def remove_day(self, schema: str, day: str) -> bool:
        # A bucket has no folders: a day without objects is gone.
        return not self.files(schema, day)

    def modified(self, key: str) -> float:
        return float(self.storage.get_modified_time(key).timestamp())


_cache: dict[tuple[Any, ...], BlobStore] = {}


def _s3_options() -> dict[str, Any]:
    return {
        "bucket_name": settings.ALPR_S3_BUCKET,
        "endpoint_url": settings.ALPR_S3_ENDPOINT_URL or None,
        "access_key": settings.ALPR_S3_ACCESS_KEY_ID or None,
        "secret_key": settings.ALPR_S3_SECRET_ACCESS_KEY or None,
        "region_name": settings.ALPR_S3_REGION or None,
        "location": settings.ALPR_S3_PREFIX,
        "file_overwrite": True,
        "default_acl": None,
        "querystring_auth": True,
    }


def blob_store(root: Path | None = None) -> BlobStore:
    """The configured store (settings read at each call, so tests can switch them)."""
    if root is not None or settings.ALPR_STORAGE == "local":
        folder = Path(root if root is not None else settings.ALPR_STORAGE_DIR)
        return LocalBlobs(folder)
    options = _s3_options()
    key = tuple(sorted((k, str(v)) for k, v in options.items()))
    if key not in _cache:
        _cache[key] = S3Blobs(**options)
    return _cache[key]


def delete_many(store: BlobStore, keys: list[str]) -> int:
    """Delete ``keys`` (in parallel when there are many); the number that existed."""
    if len(keys) < 2 * DELETE_THREADS:
        return sum(store.delete(key) for key in keys)
    with ThreadPoolExecutor(max_workers=DELETE_THREADS) as pool:
        return sum(pool.map(store.delete, keys, chunksize=32))
