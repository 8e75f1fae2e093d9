"""Signed checkpoints of each chain's head, kept outside the database.

The hash chain shows an entry edited, removed or reordered *inside* the log, but not the
newest entries removed: what is left is still a valid chain. So every hour (and on demand)
the head of each schema's chain (entry id, hash, time) is signed with an Ed25519 key that is
not in the database and appended to a store that is not the database. Verification then
requires every checkpointed head to be in the chain with the same hash, unless pruning
legitimately removed it (older than the anchor's cutoff).

A checkpoint is one JSON object: the signed fields, sorted, without spaces, UTF-8 (see
``Checkpoint.signed_bytes``), plus ``signature`` (base64). Anyone with the public key (shown
on the agency's transparency page) can check one with any Ed25519 implementation.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from audit import chain
from audit.chain import HeadClaim, VerifyResult
from audit.models import AccessEvent, Action, ChainAnchor, Outcome
from audit.services import record_event
from tenants import metrics
from tenants.schemas import current_schema

VERSION = 1
ALGORITHM = "ed25519"
SIGNED_FIELDS = ("v", "alg", "schema", "head_id", "head_hash", "head_at", "created_at", "key_id")
_CHECKPOINT_LOCK = "alpr_audit_checkpoint"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class CheckpointError(Exception):
    """The signing key or the store cannot be used; the message says what to fix."""


# --- The signing key --------------------------------------------------------------------


def _key_path() -> Path:
    return Path(settings.ALPR_AUDIT_SIGNING_KEY_FILE)


def _create_key(path: Path) -> None:
    """Development only: a fresh key, created once, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=8)
def _load_key(path: str, mtime_ns: int) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(
            f"ALPR_AUDIT_SIGNING_KEY_FILE ({path}) is not an unencrypted PEM private key: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"ALPR_AUDIT_SIGNING_KEY_FILE ({path}) is not an Ed25519 key.")
    return key


def signing_key() -> Ed25519PrivateKey:
    """The private key that signs checkpoints (the development default is made on first use)."""
    path = _key_path()
    if not path.exists() and settings.ALPR_AUDIT_SIGNING_KEY_CREATE:
        _create_key(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise CheckpointError(
            f"The access-log signing key cannot be read ({path}: {exc.strerror}). Set "
            f"ALPR_AUDIT_SIGNING_KEY_FILE to an Ed25519 key made with "
            f"'openssl genpkey -algorithm ed25519 -out FILE'."
        ) from None
    return _load_key(str(path), mtime)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_raw(key: Ed25519PublicKey | None = None) -> bytes:
    return (key or public_key()).public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_pem(key: Ed25519PublicKey | None = None) -> str:
    return (
        (key or public_key()).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    )


def key_id(key: Ed25519PublicKey | None = None) -> str:
    """A short name of the public key: the first 16 hex digits of SHA-256 of its 32 bytes."""
    return hashlib.sha256(public_key_raw(key)).hexdigest()[:16]


# --- The store ----------------------------------------------------------------------------


class CheckpointStore(Protocol):
    """Where checkpoints are kept: append-only, outside the database, one sequence per schema.

    Another store (an object store with object lock, say) only has to provide these three.
    """

    def append(self, *, schema: str, record: bytes) -> None:
        """Add one record durably; never change or remove an earlier one."""

    def records(self, *, schema: str) -> list[bytes]:
        """Every record of the schema, oldest first."""

    def latest(self, *, schema: str) -> bytes | None:
        """The newest record, without reading them all."""


class DirectoryStore:
    """One file per schema (``<schema>.jsonl``), one JSON line per checkpoint.

    Lines are added with a single ``write`` on a descriptor opened ``O_APPEND`` and fsync'd;
    the file is never opened for anything else than appending and reading.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, schema: str) -> Path:
        if not _SCHEMA_NAME.match(schema):
            raise CheckpointError(f"{schema!r} is not a schema name.")
        return self.root / f"{schema}.jsonl"

    def append(self, *, schema: str, record: bytes) -> None:
        if b"\n" in record:
            raise CheckpointError("A checkpoint record must be one line.")
        path = self.path(schema)
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o750)
            new = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as exc:
            raise CheckpointError(
                f"The checkpoint store {self.root} cannot be written ({exc.strerror}); check "
                f"ALPR_AUDIT_CHECKPOINT_DIR and its permissions."
            ) from None
        try:
            size = os.fstat(fd).st_size
            # A line cut short by a crash stays on its own line; the next one starts clean.
            lead = b"\n" if size and os.pread(fd, 1, size - 1) != b"\n" else b""
            data = lead + record + b"\n"
            while data:
                written = os.write(fd, data)
                data = data[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            directory = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def records(self, *, schema: str) -> list[bytes]:
        try:
            data = self.path(schema).read_bytes()
        except FileNotFoundError:
            return []
        return [line for line in data.split(b"\n") if line.strip()]

    def latest(self, *, schema: str) -> bytes | None:
        path = self.path(schema)
        try:
            with path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                block = 8192
                while True:
                    start = max(0, size - block)
                    handle.seek(start)
                    tail = handle.read(size - start)
                    lines = [line for line in tail.split(b"\n") if line.strip()]
                    # The first piece may be cut unless the block reaches the file's start.
                    if len(lines) > 1 or start == 0:
                        return lines[-1] if lines else None
                    block *= 4
        except FileNotFoundError:
            return None

    def __str__(self) -> str:
        return str(self.root)


def checkpoint_store() -> CheckpointStore:
    return DirectoryStore(Path(settings.ALPR_AUDIT_CHECKPOINT_DIR))


# --- Checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    schema: str
    head_id: int | None
    head_hash: str
    head_at: str | None
    created_at: str
    key_id: str
    signature: str
    line: int = 0  # position in the store (1 = oldest); not signed

    def signed_fields(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "alg": ALGORITHM,
            "schema": self.schema,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "head_at": self.head_at,
            "created_at": self.created_at,
            "key_id": self.key_id,
        }

    def signed_bytes(self) -> bytes:
        return _canonical(self.signed_fields())

    def record(self) -> dict[str, Any]:
        return {**self.signed_fields(), "signature": self.signature}

    @property
    def label(self) -> str:
        where = f", line {self.line}" if self.line else ""
        head = f"#{self.head_id}" if self.head_id is not None else "(empty log)"
        return f"the checkpoint of {self.created_at}{where} (head {head} {self.head_hash[:16]}…)"

    def claim(self) -> HeadClaim:
        return HeadClaim(
            label=self.label, head_id=self.head_id, head_hash=self.head_hash, head_at=self.head_at
        )


def _canonical(values: dict[str, Any]) -> bytes:
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


class BadCheckpoint(Exception):
    """A stored checkpoint that cannot be read or whose signature does not verify."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem

    @property
    def label(self) -> str:
        return f"the checkpoint on line {self.line}"


def parse_checkpoint(
    record: bytes, *, line: int, schema: str, key: Ed25519PublicKey | None = None
) -> Checkpoint:
    """Read one stored record and check its signature with the configured public key."""
    key = key or public_key()
    try:
        values = json.loads(record)
        if not isinstance(values, dict) or values.get("v") != VERSION:
            raise ValueError("not a version-1 checkpoint")
        checkpoint = Checkpoint(
            schema=str(values["schema"]),
            head_id=None if values["head_id"] is None else int(values["head_id"]),
            head_hash=str(values["head_hash"]),
            head_at=None if values["head_at"] is None else str(values["head_at"]),
            created_at=str(values["created_at"]),
            key_id=str(values["key_id"]),
            signature=str(values["signature"]),
            line=line,
        )
        if values.get("alg") != ALGORITHM:
            raise ValueError(f"unknown algorithm {values.get('alg')!r}")
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadCheckpoint(line, f"the checkpoint on line {line} cannot be read ({exc})") from None
    if checkpoint.schema != schema:
        raise BadCheckpoint(
            line, f"the checkpoint on line {line} is for schema {checkpoint.schema!r}"
        )
    if checkpoint.key_id != key_id(key):
        raise BadCheckpoint(
            line,
            f"{checkpoint.label} is signed by key {checkpoint.key_id}, not by the configured "
            f"key {key_id(key)} (after a key change, keep the old files with the old public "
            f"key and start a new checkpoint folder)",
        )
    try:
        key.verify(signature, checkpoint.signed_bytes())
    except InvalidSignature:
        raise BadCheckpoint(
            line, f"the signature of {checkpoint.label} does not verify: it was altered or forged"
        ) from None
    return checkpoint


def stored_checkpoints(
    *, schema: str | None = None, store: CheckpointStore | None = None
) -> list[Checkpoint]:
    """Every checkpoint of the schema, each signature checked (raises ``BadCheckpoint``)."""
    schema = schema or current_schema()
    store = store or checkpoint_store()
    records = store.records(schema=schema)
    if not records:
        return []
    key = public_key()
    return [
        parse_checkpoint(record, line=number, schema=schema, key=key)
        for number, record in enumerate(records, start=1)
    ]


def latest_checkpoint(
    *, schema: str | None = None, store: CheckpointStore | None = None
) -> Checkpoint | None:
    """The newest checkpoint of the schema (signature checked), or None when there is none."""
    schema = schema or current_schema()
    store = store or checkpoint_store()
    record = store.latest(schema=schema)
    if record is None:
        return None
    return parse_checkpoint(record, line=0, schema=schema)


def _head() -> tuple[int | None, str, str | None]:
    """The chain's head as it is now: id, hash and UTC time of the newest entry."""
    head = AccessEvent.objects.order_by("-id").values("id", "entry_hash", "occurred_at").first()
    if head is not None:
        return head["id"], head["entry_hash"], chain.utc_stamp(head["occurred_at"])
    anchor = ChainAnchor.objects.order_by("-id").first()
    if anchor is not None:
        return anchor.last_removed_id, anchor.last_removed_hash, None
    return None, chain.GENESIS_HASH, None


class CheckpointRefused(Exception):
    """The chain no longer contains the previous checkpoint: no new one is signed over it."""

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(result.problem)
        self.result = result


def checkpoint_write(
    *, store: CheckpointStore | None = None, now: datetime.datetime | None = None
) -> Checkpoint:
    """Sign the current schema's chain head and append it to the store.

    The chain from the previous checkpoint to the head is verified first, so a checkpoint is
    never signed over a log whose newest entries were cut (that would hide the cut).
    Raises ``CheckpointRefused`` then, and ``BadCheckpoint`` when the previous checkpoint
    itself does not verify.
    """
    schema = current_schema()
    store = store or checkpoint_store()
    key = signing_key()
    with chain.schema_lock(_CHECKPOINT_LOCK):
        previous_record = store.latest(schema=schema)
        previous = (
            parse_checkpoint(previous_record, line=0, schema=schema, key=key.public_key())
            if previous_record is not None
            else None
        )
        with chain.snapshot():
            if previous is not None:
                result = chain.verify_chain(claims=[previous.claim()], since=previous.claim())
                if not result.ok:
                    raise CheckpointRefused(result)
            head_id, head_hash, head_at = _head()
        unsigned = Checkpoint(
            schema=schema,
            head_id=head_id,
            head_hash=head_hash,
            head_at=head_at,
            created_at=chain.utc_stamp(now or timezone.now()),
            key_id=key_id(key.public_key()),
            signature="",
        )
        signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode("ascii")
        checkpoint = Checkpoint(**{**unsigned.__dict__, "signature": signature})
        store.append(schema=schema, record=_canonical(checkpoint.record()))
    return checkpoint


def verify_log(
    *,
    expect: Sequence[tuple[int, str]] = (),
    store: CheckpointStore | None = None,
    on_row: Callable[[Mapping[str, Any]], None] | None = None,
) -> VerifyResult:
    """The full check of the current schema's log: the chain, every stored checkpoint (its
    signature, and its head still in the chain or legitimately pruned) and heads kept by hand
    (``expect``: pairs of entry id and hash)."""
    try:
        checkpoints = stored_checkpoints(store=store)
    except BadCheckpoint as bad:
        return VerifyResult(ok=False, problem=bad.problem, checkpoint=bad.label)
    except CheckpointError as exc:  # checkpoints exist but the key to check them is missing
        return VerifyResult(ok=False, problem=str(exc))
    claims = [point.claim() for point in checkpoints]
    claims += [
        HeadClaim(label=f"the head you kept (#{entry_id} {digest[:16]}…)", head_id=entry_id,
                  head_hash=digest)
        for entry_id, digest in expect
    ]  # fmt: skip
    # The checkpoints were read before the snapshot: every head they name is in it.
    with chain.snapshot():
        return chain.verify_chain(claims=claims, on_row=on_row)


def verify_and_record(*, request: HttpRequest | None = None) -> VerifyResult:
    """Verify this schema's chain against its checkpoints and append the outcome to it as
    ``audit_verified``.

    The walk takes no lock (one read-only snapshot): appends go on meanwhile. The entry is
    appended after the walk's snapshot has ended, so it links to the real head.
    """
    result = verify_log()
    record_event(
        action=Action.AUDIT_VERIFIED,
        request=request,
        outcome=Outcome.ALLOWED if result.ok else Outcome.FAILED,
        reason=result.describe(current_schema()),
        objects=[("access_event", result.broken_id)] if result.broken_id else [],
        details=result.as_details(),
    )
    metrics.VERIFICATIONS.labels(
        schema=current_schema(), result="ok" if result.ok else "broken"
    ).inc()
    return result


def parse_expected_head(text: str) -> tuple[int, str]:
    """``ID:HASH`` as given on the command line, or ValueError with a sentence saying why."""
    entry_id, sep, digest = text.strip().partition(":")
    digest = digest.strip().lower()
    if not sep or not entry_id.strip().isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(
            f"{text!r} is not a head: give the entry id and its 64-character hash as ID:HASH "
            f"(as printed by verify_audit_log or shown on the transparency page)."
        )
    return int(entry_id), digest
