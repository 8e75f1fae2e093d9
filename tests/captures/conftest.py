"""Fixtures of the captures tests: a private image folder, no camera API counts, cameras, an
officer signed in (with or without a review session), a frozen clock."""

from __future__ import annotations

import datetime

import pytest
from django_tenants.utils import schema_context

from captures.ingest.services import CameraWithKey, camera_create
from tenants.people.roles import Role
from tests.factories import make_user, unique
from tests.support import rate_limits_reset, start_review, verified_client


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


@pytest.fixture
def officer_a(agency_a):
    return make_user(agency_a, roles=[Role.OFFICER])


@pytest.fixture
def officer_client_a(agency_a, officer_a):
    return verified_client(agency_a, officer_a)


@pytest.fixture
def reviewing_client_a(officer_client_a, agency_a):
    """The officer's client with a review session started (quality review of reads)."""
    response = start_review(officer_client_a, agency_a)
    assert response.status_code == 302, response.content.decode()[:2000]
    return officer_client_a


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
