"""Writes of ingest: cameras and their keys, and capture ingest (which queues the reading).

Every function works in the current agency schema (the request's tenant, or a
``schema_context``). Errors a caller can show are ``CameraError`` / ``CaptureRejected``
with a plain message; a rejected capture leaves nothing behind (no row, no file).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from auditlog.context import disable_auditlog
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import Action
from audit.services import record_event
from captures.hotlists.matching import entries_matching, match_read
from captures.hotlists.models import Hit
from captures.ingest.images import ImageRejected, PreparedImage, prepare_image
from captures.models import Camera, Capture
from captures.reading.services import enqueue_reading
from captures.retention.selectors import retention_cutoff
from captures.storage import image_files
from tenants import metrics
from tenants.models import Agency
from tenants.schemas import PUBLIC_SCHEMA, current_schema

logger = logging.getLogger(__name__)

KEY_SCHEME = "alpr"
MAX_FUTURE = datetime.timedelta(minutes=5)
SIX_PLACES = Decimal("0.000001")
_STATE_RE = re.compile(r"^[A-Z]{2}$")


class CameraError(Exception):
    """A camera operation that cannot be done; the message says why."""


class CameraAuthError(Exception):
    """A camera key that is refused. ``status`` is 401 (unknown) or 403 (refused)."""

    def __init__(self, message: str, *, status: int = 401):
        super().__init__(message)
        self.message = message
        self.status = status


class CaptureRejected(Exception):
    """An upload that is refused; nothing was stored."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


# --- cameras and keys -----------------------------------------------------------------


@dataclass(frozen=True)
class CameraWithKey:
    """A camera and its new API key: the only time the key exists in clear."""

    camera: Camera
    api_key: str


def _hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def _agency_slug() -> str:
    schema = current_schema()
    if not schema or schema == PUBLIC_SCHEMA:
        raise CameraError("Cameras belong to an agency: run this in the agency's schema.")
    # schema_context() sets a stand-in tenant without the slug; the Agency row has it.
    slug: str | None = getattr(getattr(connection, "tenant", None), "slug", None)
    if not slug:
        slug = Agency.objects.filter(schema_name=schema).values_list("slug", flat=True).first()
    if not slug:
        raise CameraError(f"No agency uses the schema {schema!r}.")
    return slug


def _new_key() -> tuple[str, str, str]:
    """(api_key, prefix, sha256). The key names the agency so a misdirected key is explained."""
    slug = _agency_slug()
    while True:
        prefix = secrets.token_hex(6)
        if not Camera.objects.filter(key_prefix=prefix).exists():
            break
    api_key = f"{KEY_SCHEME}_{slug}_{prefix}_{secrets.token_urlsafe(32)}"
    return api_key, prefix, _hash_key(api_key)


def _coordinate(value: Any, *, name: str, limit: int) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise CaptureRejected(f"{name} must be a number of degrees.", field=name) from None
    if not number.is_finite() or not (-limit <= number <= limit):
        raise CaptureRejected(
            f"{name} must be between -{limit} and {limit} degrees (got {value}).", field=name
        )
    return number.quantize(SIX_PLACES, rounding=ROUND_HALF_UP)


def _actor_kwargs(actor: AbstractBaseUser | None, request: HttpRequest | None) -> dict[str, Any]:
    if actor is None and request is None:
        return {"username": "system"}
    return {"actor": actor, "request": request}


def _record_camera_change(
    camera: Camera,
    change: str,
    *,
    actor: AbstractBaseUser | None,
    request: HttpRequest | None,
    **extra: Any,
) -> None:
    record_event(
        action=Action.CAMERA_CHANGED,
        objects=[("camera", camera.pk)],
        details={"change": change, "name": camera.name, **extra},
        **_actor_kwargs(actor, request),
    )


def camera_create(
    *,
    name: str,
    latitude: float | Decimal | str,
    longitude: float | Decimal | str,
    direction: str = "",
    actor: AbstractBaseUser | None = None,
    request: HttpRequest | None = None,
) -> CameraWithKey:
    """Create a camera and its API key. The key is returned once and stored only hashed."""
    name = (name or "").strip()
    if not name:
        raise CameraError("A camera needs a name.")
    if len(name) > 120:
        raise CameraError("A camera name is at most 120 characters.")
    try:
        lat = _coordinate(latitude, name="latitude", limit=90)
        lon = _coordinate(longitude, name="longitude", limit=180)
    except CaptureRejected as exc:
        raise CameraError(exc.message) from None
    if Camera.objects.filter(name=name).exists():
        raise CameraError(f"There is already a camera named {name!r}.")
    api_key, prefix, key_hash = _new_key()
    with transaction.atomic():
        camera = Camera.objects.create(
            name=name,
            latitude=lat,
            longitude=lon,
            direction=(direction or "").strip()[:40],
            key_prefix=prefix,
            key_hash=key_hash,
        )
        _record_camera_change(camera, "created", actor=actor, request=request)
    return CameraWithKey(camera=camera, api_key=api_key)


def camera_rotate_key(
    *, camera: Camera, actor: AbstractBaseUser | None = None, request: HttpRequest | None = None
) -> CameraWithKey:
    """Give the camera a new key; the old one stops working at once."""
    api_key, prefix, key_hash = _new_key()
    with transaction.atomic():
        camera.key_prefix = prefix
        camera.key_hash = key_hash
        camera.key_rotated_at = timezone.now()
        camera.save(update_fields=["key_prefix", "key_hash", "key_rotated_at"])
        _record_camera_change(camera, "key_rotated", actor=actor, request=request)
    return CameraWithKey(camera=camera, api_key=api_key)


def camera_deactivate(
    *, camera: Camera, actor: AbstractBaseUser | None = None, request: HttpRequest | None = None
) -> Camera:
    """Refuse the camera's uploads from now on; its captures are kept."""
    with transaction.atomic():
        changed = Camera.objects.filter(pk=camera.pk, active=True).update(active=False)
        camera.active = False
        if changed:
            _record_camera_change(camera, "deactivated", actor=actor, request=request)
    return camera


CAMERA_EDITABLE = ("name", "latitude", "longitude", "direction", "active")


def camera_update(
    *,
    camera: Camera,
    changed: list[str],
    actor: AbstractBaseUser | None = None,
    request: HttpRequest | None = None,
) -> Camera:
    """Save edits already set on ``camera`` (name, position, direction, active) and log them."""
    fields = [f for f in changed if f in CAMERA_EDITABLE]
    if not fields:
        return camera
    with transaction.atomic():
        camera.save(update_fields=fields)
        _record_camera_change(
            camera,
            "edited",
            actor=actor,
            request=request,
            fields={f: str(getattr(camera, f)) for f in fields},
        )
    return camera


def camera_authenticate(*, api_key: str) -> Camera:
    """The active camera of the current agency holding ``api_key``, or CameraAuthError."""
    api_key = (api_key or "").strip()
    parts = api_key.split("_", 3)
    if len(parts) != 4 or parts[0] != KEY_SCHEME or not parts[2] or not parts[3]:
        raise CameraAuthError("The camera key is malformed; send the key exactly as it was issued.")
    _, slug, prefix, _secret = parts
    if slug != _agency_slug():
        raise CameraAuthError(
            "This camera key belongs to another agency; send captures to that agency's own host.",
            status=403,
        )
    camera = Camera.objects.filter(key_prefix=prefix).first()
    # Compare in constant time, and hash even when no camera matched so timing says nothing.
    expected = camera.key_hash if camera is not None else _hash_key("no-such-camera")
    if not hmac.compare_digest(expected, _hash_key(api_key)) or camera is None:
        raise CameraAuthError("Unknown camera key: it was never issued here or has been rotated.")
    if not camera.active:
        raise CameraAuthError(
            "This camera is deactivated; ask the agency's administrator to reactivate it.",
            status=403,
        )
    return camera


# --- ingest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    capture: Capture
    created: bool  # False when the camera's capture_id was already stored (a retry)


def _edge_plate(value: str | None) -> str:
    text = re.sub(r"[\s\-.]", "", (value or "").upper())
    if not text:
        return ""
    if not re.fullmatch(r"[A-Z0-9]{1,16}", text):
        raise CaptureRejected(
            "plate must be 1 to 16 letters and digits (spaces and dashes are ignored).",
            field="plate",
        )
    return text


def _edge_state(value: str | None) -> str:
    text = (value or "").strip().upper()
    if not text:
        return ""
    if not _STATE_RE.match(text):
        raise CaptureRejected("state must be a two-letter code such as CA.", field="state")
    return text


def _edge_confidence(value: float | str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CaptureRejected(
            "confidence must be a number from 0 to 1.", field="confidence"
        ) from None
    if not (0.0 <= number <= 1.0):
        raise CaptureRejected("confidence must be a number from 0 to 1.", field="confidence")
    return number


def validate_captured_at(
    *, captured_at: datetime.datetime, agency: Agency, now: datetime.datetime
) -> None:
    if timezone.is_naive(captured_at):
        raise CaptureRejected(
            "captured_at must include a UTC offset, e.g. 2026-11-29T01:15:00+00:00.",
            field="captured_at",
        )
    if captured_at > now + MAX_FUTURE:
        raise CaptureRejected(
            "captured_at is more than 5 minutes in the future; check the camera's clock.",
            field="captured_at",
        )
    if captured_at <= retention_cutoff(agency, now=now):
        raise CaptureRejected(
            f"captured_at is older than this agency's retention period of "
            f"{agency.retention_days} days; such captures are not accepted.",
            field="captured_at",
        )


@dataclass(frozen=True)
class _Checked:
    """An upload that passed every check, ready to be written."""

    captured_at: datetime.datetime
    key_day: datetime.date
    latitude: Decimal
    longitude: Decimal
    plate: PreparedImage
    vehicle: PreparedImage | None
    edge_plate: str
    edge_state: str
    edge_confidence: float | None


def _retried(camera: Camera, client_capture_id: uuid.UUID | None) -> Capture | None:
    """The capture already stored under the camera's ``client_capture_id`` (a retry), if any."""
    if client_capture_id is None:
        return None
    return Capture.objects.filter(camera=camera, client_capture_id=client_capture_id).first()


def _position(
    camera: Camera,
    latitude: float | Decimal | str | None,
    longitude: float | Decimal | str | None,
) -> tuple[Decimal, Decimal]:
    """The capture's position: both coordinates as sent, or the camera's own."""
    if (latitude is None) != (longitude is None):
        raise CaptureRejected(
            "Send both latitude and longitude, or neither (the camera's position is used).",
            field="latitude" if latitude is None else "longitude",
        )
    if latitude is None or longitude is None:
        return camera.latitude, camera.longitude
    return (
        _coordinate(latitude, name="latitude", limit=90),
        _coordinate(longitude, name="longitude", limit=180),
    )


def _prepared(
    plate_image: bytes, vehicle_image: bytes | None
) -> tuple[PreparedImage, PreparedImage | None]:
    """The images checked and stripped of metadata: the plate's and the vehicle's."""
    limits = {
        "max_bytes": settings.ALPR_MAX_UPLOAD_BYTES,
        "max_pixels": settings.ALPR_MAX_IMAGE_PIXELS,
    }
    try:
        plate = prepare_image(plate_image, field="plate_image", **limits)
        vehicle = (
            prepare_image(vehicle_image, field="vehicle_image", **limits)
            if vehicle_image is not None
            else None
        )
    except ImageRejected as exc:
        field = "vehicle_image" if exc.message.startswith("vehicle_image") else "plate_image"
        raise CaptureRejected(exc.message, field=field, status=exc.status) from None
    return plate, vehicle


# last_seen_at is written at most once per this many seconds per camera: every capture
# updating its camera's row would make a camera's concurrent captures queue on that row's lock
# and add a statement to each. The admin's "last seen" is precise to this step.
LAST_SEEN_STEP = datetime.timedelta(seconds=30)


def _store(
    *,
    camera: Camera,
    checked: _Checked,
    client_capture_id: uuid.UUID | None,
    now: datetime.datetime,
    enqueue: bool,
    written: list[str],
) -> Capture:
    """Write the files, then the row (with its hits and the camera's last_seen_at) atomically.

    ``written`` collects the file names (removed again by the caller when this fails). The
    row is one INSERT: when nothing else is written with it (no hotlist hit, last_seen_at
    recent) it commits on its own, without a BEGIN/COMMIT pair around it.
    """
    schema = current_schema()
    images = [p.data for p in (checked.plate, checked.vehicle) if p is not None]
    written.extend(image_files.store_images(day=checked.key_day, datas=images))
    # The hotlists are asked first; a read that matches is stored with its hits in one
    # transaction (match_read asks again inside it).
    matches = (
        entries_matching(plate=checked.edge_plate, state=checked.edge_state, now=now)
        if checked.edge_plate
        else []
    )
    seen = camera.last_seen_at is None or camera.last_seen_at < now - LAST_SEEN_STEP
    # Inside a caller's transaction it is a savepoint, so a refused duplicate row leaves the
    # caller's transaction usable (the retry's lookup runs in it).
    single = not (matches or seen or connection.in_atomic_block)
    atomic = contextlib.nullcontext() if single else transaction.atomic()
    with atomic:
        # The row records its own creation (received_at, camera): the change history
        # (auditlog) holds the changes of its reading and review, not an entry per capture.
        with disable_auditlog():
            capture = Capture.objects.create(
                camera=camera,
                client_capture_id=client_capture_id,
                captured_at=checked.captured_at,
                received_at=now,
                latitude=checked.latitude,
                longitude=checked.longitude,
                plate_image=written[0],
                vehicle_image=written[1] if checked.vehicle is not None else "",
                key_day=checked.key_day,
                edge_plate=checked.edge_plate,
                edge_state=checked.edge_state,
                edge_confidence=checked.edge_confidence,
            )
        if seen:
            Camera.objects.filter(pk=camera.pk).update(last_seen_at=now)
            camera.last_seen_at = now
        if matches:
            match_read(
                capture=capture,
                plate=checked.edge_plate,
                state=checked.edge_state,
                confidence=checked.edge_confidence,
                source=Hit.Source.CAMERA,
                now=now,
            )
        if enqueue:
            capture_id = str(capture.pk)
            # robust: a broker outage must not turn a stored capture into an error answer;
            # the requeue of pending reads queues it again later. (Outside a transaction,
            # on_commit runs at once: the INSERT has committed.)
            transaction.on_commit(
                lambda: enqueue_reading(capture_id=capture_id, schema=schema), robust=True
            )
    return capture


def _day_key_destroyed(key_day: datetime.date) -> CaptureRejected:
    return CaptureRejected(
        f"Captures of {key_day.isoformat()} (UTC) can no longer be stored: that day's image "
        "key was destroyed by the retention purge. Check the camera's clock; this capture "
        "was not stored and should not be sent again.",
        field="captured_at",
        status=422,
    )


def _check(
    *,
    camera: Camera,
    agency: Agency,
    plate_image: bytes,
    vehicle_image: bytes | None,
    captured_at: datetime.datetime,
    latitude: float | Decimal | str | None,
    longitude: float | Decimal | str | None,
    edge_plate: str | None,
    edge_state: str | None,
    edge_confidence: float | str | None,
    now: datetime.datetime,
) -> _Checked:
    """Every check of an upload, before anything is written; raises CaptureRejected."""
    validate_captured_at(captured_at=captured_at, agency=agency, now=now)
    lat, lon = _position(camera, latitude, longitude)
    plate_text, state_text = _edge_plate(edge_plate), _edge_state(edge_state)
    confidence = _edge_confidence(edge_confidence)
    plate, vehicle = _prepared(plate_image, vehicle_image)
    return _Checked(
        captured_at=captured_at,
        key_day=captured_at.astimezone(datetime.UTC).date(),
        latitude=lat,
        longitude=lon,
        plate=plate,
        vehicle=vehicle,
        edge_plate=plate_text,
        edge_state=state_text,
        edge_confidence=confidence,
    )


def capture_ingest(
    *,
    camera: Camera,
    agency: Agency,
    plate_image: bytes,
    captured_at: datetime.datetime,
    vehicle_image: bytes | None = None,
    latitude: float | Decimal | str | None = None,
    longitude: float | Decimal | str | None = None,
    client_capture_id: uuid.UUID | None = None,
    edge_plate: str | None = None,
    edge_state: str | None = None,
    edge_confidence: float | str | None = None,
    now: datetime.datetime | None = None,
    enqueue: bool = True,
) -> IngestResult:
    """Check, strip, encrypt and store one capture, then queue it for reading.

    Everything is checked before anything is written. The files are written first, then the
    row with its hotlist hits atomically; when that fails the files are removed again. The
    same ``client_capture_id`` from the same camera returns the stored capture (a retry): the
    unique constraint of (camera, client_capture_id) refuses the second row, so a first
    upload costs no lookup. Raises CaptureRejected.
    """
    now = now or timezone.now()
    if not camera.active:
        raise CaptureRejected("This camera is deactivated.", status=403)
    try:
        checked = _check(
            camera=camera,
            agency=agency,
            plate_image=plate_image,
            vehicle_image=vehicle_image,
            captured_at=captured_at,
            latitude=latitude,
            longitude=longitude,
            edge_plate=edge_plate,
            edge_state=edge_state,
            edge_confidence=edge_confidence,
            now=now,
        )
    except CaptureRejected:
        # A retry of a capture stored earlier is answered with it, whatever it holds now
        # (its captured_at may have left the retention period since).
        existing = _retried(camera, client_capture_id)
        if existing is not None:
            return IngestResult(capture=existing, created=False)
        raise
    written: list[str] = []
    try:
        capture = _store(
            camera=camera,
            checked=checked,
            client_capture_id=client_capture_id,
            now=now,
            enqueue=enqueue,
            written=written,
        )
    except image_files.DayKeyDestroyed:
        _remove(written)
        raise _day_key_destroyed(checked.key_day) from None
    except IntegrityError:
        _remove(written)
        # A retry (or two copies of one racing): the capture is already stored.
        existing = _retried(camera, client_capture_id)
        if existing is not None:
            return IngestResult(capture=existing, created=False)
        raise
    except BaseException:
        _remove(written)
        raise
    schema = current_schema()
    transaction.on_commit(lambda: metrics.CAPTURES_INGESTED.labels(schema=schema).inc())
    return IngestResult(capture=capture, created=True)


def _remove(names: list[str]) -> None:
    for name in names:
        try:
            image_files.delete_image(name)
        except Exception:  # keep the original error; the orphan check finds leftovers
            logger.exception("could not remove image %s after a failed ingest", name)


__all__ = [
    "CameraAuthError",
    "CameraError",
    "CameraWithKey",
    "CaptureRejected",
    "IngestResult",
    "camera_authenticate",
    "camera_create",
    "camera_deactivate",
    "camera_rotate_key",
    "camera_update",
    "capture_ingest",
]
