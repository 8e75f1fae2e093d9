"""Fixtures of the captures tests: a private image folder, no camera API counts, cameras."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from captures.services import CameraWithKey, camera_create
from tests.factories import unique
from tests.support import rate_limits_reset


@pytest.fixture(autouse=True)
def storage_dir(settings, tmp_path):
    """Every captures test stores its encrypted images in its own temporary folder."""
    path = tmp_path / "images"
    path.mkdir()
    settings.ALPR_STORAGE_DIR = path
    return path


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
