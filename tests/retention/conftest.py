"""Retention fixtures: a private image folder, and cameras/captures with real encrypted files.

Capture helpers live here (not in tests/factories.py) so they do not collide with the
captures tests' own builders.
"""

from __future__ import annotations

import datetime
import io
import secrets
from dataclasses import dataclass

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from PIL import Image, ImageDraw

from captures.models import Camera, Capture, Review
from captures.storage import image_files
from tenants.models import Agency
from tests.factories import unique


@pytest.fixture(autouse=True)
def storage_dir(settings, tmp_path):
    """Every retention test stores its encrypted images in its own temporary folder."""
    path = tmp_path / "images"
    path.mkdir()
    settings.ALPR_STORAGE_DIR = path
    return path


def plate_png(text: str) -> bytes:
    image = Image.new("RGB", (120, 40), "white")
    ImageDraw.Draw(image).text((8, 12), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


CAMERA_PREFIX = "Retention cam "


def mine():
    """This folder's captures: other tests may have committed captures in the same agency."""
    return Capture.objects.filter(camera__name__startswith=CAMERA_PREFIX)


def make_camera(agency: Agency, *, active: bool = True) -> Camera:
    with schema_context(agency.schema_name):
        return Camera.objects.create(
            name=f"{unique(CAMERA_PREFIX)}-{secrets.token_hex(4)}",
            latitude=45.5,
            longitude=-122.6,
            active=active,
            key_prefix=secrets.token_hex(6),
            key_hash=secrets.token_hex(32),
        )


@dataclass
class Made:
    capture: Capture
    names: list[str]


def make_capture(
    agency: Agency,
    camera: Camera,
    *,
    captured_at: datetime.datetime,
    plate: str | None = None,
    with_files: bool = True,
    reviewed: bool = False,
) -> Capture:
    """A capture with an encrypted plate and vehicle image stored under its UTC day."""
    plate = plate or unique("RT")[:8].upper()
    day = captured_at.astimezone(datetime.UTC).date()
    with schema_context(agency.schema_name):
        names = (
            [
                image_files.store_image(day=day, data=plate_png(plate)),
                image_files.store_image(day=day, data=plate_png(plate) + b"vehicle"),
            ]
            if with_files
            else ["", ""]
        )
        capture = Capture.objects.create(
            camera=camera,
            captured_at=captured_at,
            received_at=captured_at,
            latitude=45.5,
            longitude=-122.6,
            plate_image=names[0],
            vehicle_image=names[1],
            key_day=day,
            status=Capture.Status.READ,
            machine_plate=plate,
            plate=plate,
            match_key=plate,
            state="OR",
        )
        if reviewed:
            Review.objects.create(
                capture=capture,
                action=Review.Action.CONFIRM,
                reviewer_id=1,
                reviewer_username="reviewer",
                plate_before=plate,
                plate_after=plate,
            )
    return capture


def files_of(capture: Capture) -> list[str]:
    return [n for n in (capture.plate_image, capture.vehicle_image) if n]


def path_of(storage_dir, agency: Agency, name: str):
    return storage_dir / agency.schema_name / name


@pytest.fixture
def now() -> datetime.datetime:
    """A fixed instant in the middle of a UTC day, away from day boundaries."""
    return datetime.datetime(2026, 11, 20, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock(now):
    """The clock moved to ``now`` (time-machine), not slept."""
    import time_machine

    with time_machine.travel(now, tick=False) as traveller:
        yield traveller


def timestamp(value: datetime.datetime) -> str:
    return timezone.localtime(value).isoformat()
