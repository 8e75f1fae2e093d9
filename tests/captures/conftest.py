"""Fixtures of the captures tests: a private image folder, cameras, rendered plates."""

from __future__ import annotations

import io
import random

import pytest
from django_tenants.utils import schema_context

from captures.ingest.services import CameraWithKey, camera_create
from tests.factories import unique


@pytest.fixture(autouse=True)
def storage_dir(settings, tmp_path):
    """Every captures test stores its encrypted images in its own temporary folder."""
    path = tmp_path / "images"
    path.mkdir()
    settings.ALPR_STORAGE_DIR = path
    return path


def rate_limits_reset(url: str | None = None) -> None:
    """Forget every camera API count in Redis (the limits use the real Redis of the run)."""
    import redis
    from django.conf import settings

    from captures.ingest.limits import KEY_PREFIX

    client = redis.Redis.from_url(url or settings.REDIS_URL)
    keys = list(client.scan_iter(f"{KEY_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every captures test starts, and leaves, with no camera API requests counted."""
    from django.conf import settings

    url = settings.REDIS_URL  # tests may point the setting at a Redis that is down
    rate_limits_reset(url)
    yield
    rate_limits_reset(url)


@pytest.fixture
def camera_a(agency_a) -> CameraWithKey:
    with schema_context(agency_a.schema_name):
        return camera_create(name=unique("Cam A "), latitude=45.5, longitude=-122.6)


@pytest.fixture
def camera_b(agency_b) -> CameraWithKey:
    with schema_context(agency_b.schema_name):
        return camera_create(name=unique("Cam B "), latitude=40.0, longitude=-75.0)


def image_bytes(text: str = "ABC1234", *, fmt: str = "PNG", seed: int = 1, **save) -> bytes:
    from captures.synthetic.plates import render_plate

    image = render_plate(random.Random(seed), text=text, clean=True).image
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]
