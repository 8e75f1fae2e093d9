"""The authenticated image view: agency scope, roles, training, second factor, no caching, logged."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from PIL import Image

from audit.models import AccessEvent
from audit.services import record_event
from captures.models import Capture
from tenants.people.roles import Role
from tests.factories import ingest_capture, make_user
from tests.support import details_of, verified_client

pytestmark = pytest.mark.django_db


def _url(capture, kind="plate") -> str:
    return f"/captures/{capture.pk}/image/{kind}/"


def _events(agency, capture) -> list[AccessEvent]:
    with schema_context(agency.schema_name):
        return [
            e
            for e in AccessEvent.objects.filter(action="image_viewed")
            if {"type": "capture", "id": str(capture.pk)} in e.objects_touched
        ]


def test_officer_sees_the_image_uncached_and_it_is_logged(agency_a, camera_a):
    capture = ingest_capture(agency_a, camera_a, vehicle=True)
    officer = make_user(agency_a)
    with schema_context(agency_a.schema_name):
        search = record_event(action="search", actor=officer, purpose_category="Stolen vehicle")
        someone_elses = record_event(
            action="search", actor=make_user(agency_a), purpose_category="x"
        )
    client = verified_client(agency_a, officer)
    response = client.get(_url(capture) + f"?search={search.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"]
    assert Image.open(io.BytesIO(response.content)).size == (360, 180)
    events = _events(agency_a, capture)
    assert len(events) == 1
    assert events[0].actor_id == officer.pk
    assert details_of(events[0]) == {"image": "plate", "source": "search"}
    assert events[0].related_event_id == search.pk
    # Another user's search cannot be named as the reason for a view.
    vehicle = client.get(_url(capture, "vehicle") + f"?search={someone_elses.pk}")
    assert vehicle.status_code == 200
    assert vehicle["Content-Type"] == "image/jpeg"
    events = _events(agency_a, capture)
    assert len(events) == 2
    (vehicle_event,) = [e for e in events if e.details["image"] == "vehicle"]
    assert vehicle_event.related_event_id is None
    assert vehicle_event.details["source"] == "direct"


def test_agency_a_user_gets_404_for_agency_b_capture(agency_a, agency_b, camera_b):
    capture_b = ingest_capture(agency_b, camera_b)
    client = verified_client(agency_a, make_user(agency_a, roles=[Role.ADMINISTRATOR]))
    assert client.get(_url(capture_b)).status_code == 404
    assert _events(agency_b, capture_b) == []
    # The same id on B's host, by B's officer, works: the id is real, only the scope differs.
    client_b = verified_client(agency_b, make_user(agency_b))
    assert client_b.get(_url(capture_b)).status_code == 200


def test_missing_vehicle_image_unknown_kind_and_expired_capture_are_404(agency_a, camera_a):
    capture = ingest_capture(agency_a, camera_a)
    client = verified_client(agency_a, make_user(agency_a))
    assert client.get(_url(capture, "vehicle")).status_code == 404
    assert client.get(_url(capture, "thumbnail")).status_code == 404
    old = ingest_capture(
        agency_a,
        camera_a,
        age=datetime.timedelta(days=agency_a.retention_days) - datetime.timedelta(minutes=5),
    )
    with schema_context(agency_a.schema_name):
        Capture.objects.filter(pk=old.pk).update(
            captured_at=timezone.now() - datetime.timedelta(days=agency_a.retention_days, minutes=1)
        )
    assert client.get(_url(old)).status_code == 404


def test_roles_training_and_second_factor_are_enforced(agency_a, camera_a):
    capture = ingest_capture(agency_a, camera_a)
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    assert auditor.get(_url(capture)).status_code == 403
    untrained = verified_client(agency_a, make_user(agency_a, trained=False))
    response = untrained.get(_url(capture))
    assert response.status_code == 403
    assert b"Training required" in response.content
    anonymous = Client(HTTP_HOST="alpha.localhost")
    assert anonymous.get(_url(capture)).status_code == 302
    no_otp = Client(HTTP_HOST="alpha.localhost")
    with schema_context(agency_a.schema_name):
        no_otp.force_login(make_user(agency_a))
    assert no_otp.get(_url(capture)).status_code == 302
    assert _events(agency_a, capture) == []


def test_tampered_image_is_a_plain_404_not_a_500(agency_a, camera_a, storage_dir):
    capture = ingest_capture(agency_a, camera_a)
    path = storage_dir / agency_a.schema_name / capture.plate_image
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF
    path.write_bytes(bytes(blob))
    client = verified_client(agency_a, make_user(agency_a))
    response = client.get(_url(capture))
    assert response.status_code == 404
    assert _events(agency_a, capture) == []
