"""Evidence packages: a signed ZIP of what an approved disclosure releases, and its check.

Layout of a package::

    disclosure.json                 the register entry (recipient, basis, case, who, when)
    captures/<id>/read.json         the read, camera and location, review history
    captures/<id>/plate.<ext>       decrypted images (when images are released)
    captures/<id>/vehicle.<ext>
    access_log.jsonl                the access-log entries about these captures (when released)
    manifest.json                   SHA-256 and size of every file above, agency, key id
    manifest.sig                    Ed25519 signature of manifest.json's exact bytes (base64)

The ZIP is written entry by entry to a temporary file beside its final place (one image in
memory at a time), then renamed; progress is written to the package's row as it goes.
``verify_package_file`` checks a package anyone sends back: every listed file present with
its hash, nothing unlisted, and the manifest's signature under the agency's key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import json
import logging
import os
import time
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.chain import utc_stamp
from audit.models import AccessEvent, Action, Outcome
from audit.services import record_event
from captures.ingest.images import content_type_of
from captures.models import Capture
from captures.releases import signing
from captures.releases.models import Disclosure, EvidencePackage, ReleasedField
from captures.releases.selectors import kept_captures
from captures.storage import image_files
from tenants.models import Agency
from tenants.schemas import current_schema

logger = logging.getLogger(__name__)

FORMAT = "alpr-evidence-package"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SYSTEM_USERNAME = "system:evidence-package"
BATCH = 50
PROGRESS_EVERY = 10
# A build still marked building after this long was cut off (its worker died; the broker hands
# the message on after its visibility timeout): the next delivery starts it again.
BUILD_STALE_SECONDS = 3600
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@dataclass
class _Writer:
    """Adds files to the ZIP, hashing each as it is written, and lists them for the manifest."""

    zf: zipfile.ZipFile
    files: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, data: bytes, *, compress: bool = True) -> None:
        kind = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
        info.compress_type = kind
        self.zf.writestr(info, data)
        self.files.append(
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        )

    def add_lines(self, name: str, lines: Iterator[bytes]) -> None:
        digest, size = hashlib.sha256(), 0
        info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        with self.zf.open(info, "w", force_zip64=True) as out:
            for line in lines:
                out.write(line)
                digest.update(line)
                size += len(line)
        self.files.append({"path": name, "sha256": digest.hexdigest(), "size": size})


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode()


def _stamp(moment: datetime.datetime | None) -> str | None:
    return utc_stamp(moment) if moment is not None else None


def disclosure_record(disclosure: Disclosure, agency: Agency) -> dict[str, Any]:
    return {
        "agency": agency.slug,
        "agency_name": agency.name,
        "disclosure_id": disclosure.pk,
        "status": disclosure.status,
        "medium": disclosure.medium,
        "recipient": {
            "person": disclosure.recipient_person,
            "organisation": disclosure.recipient_organisation,
            "public_agency": disclosure.recipient_is_public_agency,
            "us_state": disclosure.recipient_jurisdiction,
        },
        "legal_basis": disclosure.legal_basis,
        "legal_basis_label": disclosure.get_legal_basis_display(),
        "requester": disclosure.requester,
        "case_number": disclosure.case_number,
        "justification": disclosure.justification,
        "fields_released": list(disclosure.fields_released),
        "capture_ids": [str(i) for i in disclosure.capture_ids],
        "prepared_by": disclosure.prepared_by_username,
        "prepared_at": _stamp(disclosure.prepared_at),
        "approved_by": disclosure.decided_by_username,
        "approved_at": _stamp(disclosure.decided_at),
    }


def read_record(capture: Capture, fields: Sequence[str]) -> dict[str, Any]:
    """The read as released: only the kinds of data the disclosure names."""
    record: dict[str, Any] = {"capture_id": str(capture.pk)}
    if ReleasedField.CAMERA_LOCATION in fields:
        record.update(
            captured_at=_stamp(capture.captured_at),
            received_at=_stamp(capture.received_at),
            latitude=str(capture.latitude),
            longitude=str(capture.longitude),
            camera={
                "name": capture.camera.name,
                "latitude": str(capture.camera.latitude),
                "longitude": str(capture.camera.longitude),
                "direction": capture.camera.direction,
            },
        )
    if ReleasedField.READING in fields:
        record["reading"] = {
            "plate": capture.plate,
            "state": capture.state,
            "review_status": capture.review_status,
            "machine_plate": capture.machine_plate,
            "machine_state": capture.machine_state,
            "machine_confidence": capture.machine_confidence,
            "camera_plate": capture.edge_plate,
            "camera_state": capture.edge_state,
            "ocr_model": capture.ocr_model,
            "read_at": _stamp(capture.read_at),
        }
    if ReleasedField.REVIEW_HISTORY in fields:
        record["reviews"] = [
            {
                "action": review.action,
                "reviewer": review.reviewer_username,
                "reviewed_at": _stamp(review.reviewed_at),
                "plate_before": review.plate_before,
                "state_before": review.state_before,
                "plate_after": review.plate_after,
                "state_after": review.state_after,
                "replaces_review": review.replaces_id,
                "reason": review.reason,
            }
            for review in sorted(capture.reviews.all(), key=lambda r: (r.reviewed_at, r.pk))
        ]
    return record


def _add_images(writer: _Writer, capture: Capture, record: dict[str, Any]) -> None:
    missing = {}
    for kind, name in (("plate", capture.plate_image), ("vehicle", capture.vehicle_image)):
        if not name:
            continue
        try:
            data = image_files.load_image(name)
        except image_files.DayKeyDestroyed:
            missing[kind] = "destroyed with its day's key (retention purge)"
            continue
        except image_files.ImageDecryptError as exc:
            missing[kind] = f"cannot be decrypted: {exc}"
            continue
        extension = EXTENSIONS.get(content_type_of(data), "bin")
        writer.add(f"captures/{capture.pk}/{kind}.{extension}", data, compress=False)
        del data
    if missing:
        record["images_missing"] = missing


def _log_entry(event: AccessEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "occurred_at": utc_stamp(event.occurred_at),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "outcome": event.outcome,
        "reason": event.reason,
        "purpose_category": event.purpose_category,
        "purpose_text": event.purpose_text,
        "case_number": event.case_number,
        "query": event.query,
        "objects_touched": event.objects_touched,
        "related_event_id": event.related_event_id,
        "details": event.details,
        "client_ip": event.client_ip,
        "user_agent": event.user_agent,
        "prev_hash": event.prev_hash,
        "entry_hash": event.entry_hash,
    }


def _log_lines(ids: Sequence[uuid.UUID]) -> Iterator[bytes]:
    """The access-log entries naming any of ``ids``, oldest first, each once."""
    seen: set[int] = set()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        touched = Q()
        for capture_id in chunk:
            touched |= Q(objects_touched__contains=[{"type": "capture", "id": str(capture_id)}])
        for event in AccessEvent.objects.filter(touched).order_by("id").iterator(chunk_size=200):
            if event.pk in seen:
                continue
            seen.add(event.pk)
            yield (json.dumps(_log_entry(event), sort_keys=True, default=str) + "\n").encode()


def _progress(package: EvidencePackage, done: int) -> None:
    EvidencePackage.objects.filter(pk=package.pk).update(done=done)


def _write_captures(
    writer: _Writer, *, agency: Agency, disclosure: Disclosure, package: EvidencePackage
) -> int:
    ids = sorted(disclosure.capture_ids)
    fields = list(disclosure.fields_released)
    written = 0
    for start in range(0, len(ids), BATCH):
        chunk = (
            kept_captures(agency)
            .filter(pk__in=ids[start : start + BATCH])
            .select_related("camera")
            .prefetch_related("reviews")
            .order_by("pk")
        )
        for capture in chunk:
            record = read_record(capture, fields)
            if ReleasedField.IMAGES in fields:
                _add_images(writer, capture, record)
            writer.add(f"captures/{capture.pk}/read.json", _json(record))
            written += 1
            if written % PROGRESS_EVERY == 0:
                _progress(package, written)
    return written


def manifest_bytes(
    *, agency: Agency, disclosure: Disclosure, package: EvidencePackage, files: list[dict[str, Any]],
    key: Ed25519PublicKey, released: int,
) -> bytes:  # fmt: skip
    manifest = {
        "format": FORMAT,
        "v": VERSION,
        "agency": agency.slug,
        "agency_name": agency.name,
        "schema": agency.schema_name,
        "disclosure_id": disclosure.pk,
        "package_id": package.pk,
        "case_number": disclosure.case_number,
        "created_at": utc_stamp(timezone.now()),
        "captures_listed": disclosure.capture_count,
        "captures_included": released,
        "algorithm": "ed25519",
        "key_id": signing.key_id(key),
        "public_key_pem": signing.public_key_pem(key),
        "files": files,
    }
    return _json(manifest)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remove_old_packages(folder: Path) -> int:
    """Delete this schema's package files older than ``ALPR_PACKAGE_KEEP_DAYS``."""
    cutoff = time.time() - settings.ALPR_PACKAGE_KEEP_DAYS * 86400
    removed = 0
    for path in folder.glob("*.zip"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _claim(package_id: int) -> EvidencePackage | None:
    with transaction.atomic():
        package = (
            EvidencePackage.objects.select_for_update()
            .select_related("disclosure")
            .filter(pk=package_id)
            .first()
        )
        if package is None or package.status in (
            EvidencePackage.Status.READY,
            EvidencePackage.Status.FAILED,
        ):
            return None
        now = timezone.now()
        if (
            package.status == EvidencePackage.Status.BUILDING
            and package.started_at is not None
            and now - package.started_at < datetime.timedelta(seconds=BUILD_STALE_SECONDS)
        ):
            return None  # another worker builds it (a duplicate message)
        package.status = EvidencePackage.Status.BUILDING
        package.done = 0
        package.started_at = now
        package.save(update_fields=["status", "done", "started_at"])
        return package


def _build_file(
    *, agency: Agency, package: EvidencePackage, handle: IO[bytes]
) -> tuple[str, int, str]:
    """Write the ZIP into ``handle``; returns (manifest sha256, captures written, key id)."""
    disclosure = package.disclosure
    key = signing.signing_key()
    with zipfile.ZipFile(handle, "w", allowZip64=True) as zf:
        writer = _Writer(zf)
        writer.add("disclosure.json", _json(disclosure_record(disclosure, agency)))
        released = _write_captures(writer, agency=agency, disclosure=disclosure, package=package)
        if ReleasedField.ACCESS_LOG in disclosure.fields_released:
            writer.add_lines("access_log.jsonl", _log_lines(sorted(disclosure.capture_ids)))
        manifest = manifest_bytes(
            agency=agency, disclosure=disclosure, package=package, files=writer.files,
            key=key.public_key(), released=released,
        )  # fmt: skip
        zf.writestr(MANIFEST, manifest, compress_type=zipfile.ZIP_DEFLATED)
        signature = base64.b64encode(key.sign(manifest)) + b"\n"
        zf.writestr(SIGNATURE, signature, compress_type=zipfile.ZIP_STORED)
    return hashlib.sha256(manifest).hexdigest(), released, signing.key_id(key.public_key())


def package_build(*, agency: Agency, package_id: int) -> EvidencePackage | None:
    """Build one package (in the agency's schema), record ``package_built``; None when there is
    nothing to do (already built, or unknown). A failure is recorded as failed, not raised."""
    package = _claim(package_id)
    if package is None:
        return None
    folder = Path(settings.ALPR_PACKAGE_DIR) / current_schema()
    final = folder / f"disclosure-{package.disclosure_id}-package-{package.pk}.zip"
    tmp = folder / f".tmp-{package.pk}-{uuid.uuid4().hex}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_old_packages(folder)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w+b") as handle:
            manifest_sha, released, key_id = _build_file(
                agency=agency, package=package, handle=handle
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except Exception as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        logger.exception("evidence package %s failed", package.pk)
        return _finish_failed(package, f"{type(exc).__name__}: {exc}")
    return _finish_ready(
        package, final=final, manifest_sha=manifest_sha, released=released, key_id=key_id
    )


def _finish_ready(
    package: EvidencePackage, *, final: Path, manifest_sha: str, released: int, key_id: str
) -> EvidencePackage:
    package.status = EvidencePackage.Status.READY
    package.done = released
    package.file_name = final.name
    package.size_bytes = final.stat().st_size
    package.sha256 = _file_sha256(final)
    package.manifest_sha256 = manifest_sha
    package.signing_key_id = key_id
    package.finished_at = timezone.now()
    with transaction.atomic():
        package.save()
        _record_built(package, Outcome.ALLOWED, released=released)
    return package


def _finish_failed(package: EvidencePackage, error: str) -> EvidencePackage:
    package.status = EvidencePackage.Status.FAILED
    package.error = error[:500]
    package.finished_at = timezone.now()
    with transaction.atomic():
        package.save(update_fields=["status", "error", "finished_at"])
        _record_built(package, Outcome.FAILED, released=package.done)
    return package


def _record_built(package: EvidencePackage, outcome: Outcome, *, released: int) -> None:
    disclosure = package.disclosure
    record_event(
        action=Action.PACKAGE_BUILT,
        username=SYSTEM_USERNAME,
        outcome=outcome,
        reason=package.error,
        case_number=disclosure.case_number,
        objects=[("disclosure", disclosure.pk), ("package", package.pk)],
        details={
            "package_id": package.pk,
            "disclosure_id": disclosure.pk,
            "requested_by": package.requested_by_username,
            "captures_included": released,
            "captures_listed": disclosure.capture_count,
            "sha256": package.sha256,
            "manifest_sha256": package.manifest_sha256,
            "key_id": package.signing_key_id,
        },
    )


# --- checking a package ----------------------------------------------------------------------


@dataclass
class Verdict:
    """What ``verify_package_file`` found. ``intact``: every hash and the signature hold."""

    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    signature_valid: bool = False
    key_trusted: bool = False
    manifest: dict[str, Any] | None = None

    @property
    def intact(self) -> bool:
        return not self.problems and self.signature_valid


def parse_public_key(pem: bytes) -> Ed25519PublicKey:
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def _check_files(zf: zipfile.ZipFile, manifest: dict[str, Any], verdict: Verdict) -> None:
    listed = manifest.get("files")
    if not isinstance(listed, list):
        verdict.problems.append("manifest.json lists no files.")
        return
    names = set(zf.namelist())
    expected = {MANIFEST, SIGNATURE}
    for entry in listed:
        path = str(entry.get("path", "")) if isinstance(entry, dict) else ""
        expected.add(path)
        if path not in names:
            verdict.problems.append(
                f"{path or '(unnamed entry)'}: listed in the manifest, missing."
            )
            continue
        digest = hashlib.sha256()
        with zf.open(path) as member:
            for block in iter(lambda: member.read(1 << 20), b""):
                digest.update(block)
        verdict.files_checked += 1
        if digest.hexdigest() != entry.get("sha256"):
            verdict.problems.append(f"{path}: SHA-256 differs from the manifest (changed).")
    for extra in sorted(names - expected):
        verdict.problems.append(f"{extra}: in the ZIP but not in the manifest (added).")


def _check_signature(
    manifest_raw: bytes, signature_raw: bytes, key: Ed25519PublicKey, verdict: Verdict
) -> None:
    try:
        signature = base64.b64decode(signature_raw.strip(), validate=True)
        key.verify(signature, manifest_raw)
    except (InvalidSignature, binascii.Error, ValueError):
        verdict.problems.append(
            "manifest.sig does not verify: the manifest was changed or signed with another key."
        )
        return
    verdict.signature_valid = True


def verify_package_file(path: Path, *, trusted_key: Ed25519PublicKey | None) -> Verdict:
    """Check a package's files against its manifest and the manifest's signature.

    ``trusted_key`` is the agency's key as known to the checker (its database, or its
    transparency page); without one the key named inside the package is used, and the
    verdict says that it is not trusted.
    """
    verdict = Verdict()
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        verdict.problems.append(f"not a readable ZIP file: {exc}")
        return verdict
    with zf:
        try:
            manifest_raw = zf.read(MANIFEST)
            signature_raw = zf.read(SIGNATURE)
            manifest = json.loads(manifest_raw)
        except KeyError as exc:
            verdict.problems.append(f"{exc.args[0]} is missing: this is not a complete package.")
            return verdict
        except (ValueError, zipfile.BadZipFile) as exc:
            verdict.problems.append(f"manifest.json cannot be read: {exc}")
            return verdict
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            verdict.problems.append("manifest.json is not an evidence-package manifest.")
            return verdict
        verdict.manifest = manifest
        try:
            _check_files(zf, manifest, verdict)
        except zipfile.BadZipFile as exc:
            verdict.problems.append(f"a file in the ZIP is damaged: {exc}")
    key = trusted_key
    if key is None:
        try:
            key = parse_public_key(str(manifest.get("public_key_pem", "")).encode())
        except ValueError:
            verdict.problems.append("the manifest names no usable public key.")
            return verdict
    verdict.key_trusted = trusted_key is not None
    _check_signature(manifest_raw, signature_raw, key, verdict)
    return verdict
