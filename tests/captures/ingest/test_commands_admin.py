"""create_camera, simulate_cameras, the demo seed and the camera admin."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_context

from alpr_portal.demo import cameras as demo_cameras
from audit.models import AccessEvent
from captures.models import Camera, Capture
from tenants.people.roles import Role
from tests.factories import ingest_capture, make_user, unique
from tests.support import api_post, stored_files, verified_client

pytestmark = pytest.mark.django_db


def test_create_camera_prints_the_key_once_and_it_works(agency_a, client_a, storage_dir):
    out = io.StringIO()
    name = unique("Cmd camera ")
    call_command(
        "create_camera", "--agency", "alpha", "--name", name, "--latitude", "45.1", "--longitude", "-122.2",
        stdout=out,
    )  # fmt: skip
    lines = out.getvalue().splitlines()
    keys = [line.removeprefix("api_key=") for line in lines if line.startswith("api_key=")]
    assert len(keys) == 1
    assert keys[0].startswith("alpr_alpha_")
    with schema_context(agency_a.schema_name):
        camera = Camera.objects.get(name=name)
        assert keys[0] not in camera.key_hash
        assert len(camera.key_hash) == 64
        assert float(camera.latitude) == 45.1
        assert AccessEvent.objects.filter(action="camera_changed", details__name=name).exists()
    assert api_post(client_a, keys[0]).status_code == 201
    with pytest.raises(CommandError, match="already a camera"):
        call_command("create_camera", "--agency", "alpha", "--name", name, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No agency"):
        call_command("create_camera", "--agency", "nope", "--name", "x", stdout=io.StringIO())


def test_simulate_cameras_in_process_pushes_through_the_api(agency_b, storage_dir):
    with schema_context(agency_b.schema_name):
        before = Capture.objects.count()
    out = io.StringIO()
    args = ["--agency", "bravo", "--count", "4", "--cameras", "2", "--in-process", "--seed", "5"]
    call_command("simulate_cameras", *args, stdout=out)
    assert re.search(r"sent 4 captures .* 201: 4", out.getvalue())
    with schema_context(agency_b.schema_name):
        assert Capture.objects.count() == before + 4
        sim = Capture.objects.filter(camera__name__startswith="Sim: ")
        assert sim.count() >= 4
        assert all(c.plate_image.endswith(".bin") for c in sim)
    files = len(stored_files(storage_dir))
    # Same seed again: the same capture ids, so nothing new is stored (cameras retry safely).
    call_command("simulate_cameras", *args, stdout=io.StringIO())
    with schema_context(agency_b.schema_name):
        assert Capture.objects.count() == before + 4
    assert len(stored_files(storage_dir)) == files


def test_demo_seed_is_idempotent(agency_a, storage_dir, monkeypatch):
    monkeypatch.setattr(demo_cameras, "DEMO_CAPTURES", 3)
    out = io.StringIO()
    demo_cameras.seed(agency=agency_a, stdout=out)
    with schema_context(agency_a.schema_name):
        seeded = Capture.objects.filter(camera__name__startswith="Demo: ").count()
    assert seeded == 3, out.getvalue()
    demo_cameras.seed(agency=agency_a, stdout=out)
    assert "already there" in out.getvalue()
    with schema_context(agency_a.schema_name):
        assert Capture.objects.filter(camera__name__startswith="Demo: ").count() == 3


@pytest.fixture
def admin_client(agency_a):
    user = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    with schema_context(agency_a.schema_name):
        user.is_superuser = True
        user.save()
    return verified_client(agency_a, user)


def test_admin_creates_a_camera_and_shows_the_key_once(agency_a, admin_client):
    name = unique("Admin camera ")
    response = admin_client.post(
        "/admin/captures/camera/add/",
        {"name": name, "latitude": "45.2", "longitude": "-122.3", "direction": "northbound"},
    )
    assert response.status_code == 200, response.content[:500]
    assert "no-store" in response["Cache-Control"]
    key = re.search(rb'<code class="api-key">(alpr_alpha_[^<]+)</code>', response.content)
    assert key is not None
    with schema_context(agency_a.schema_name):
        camera = Camera.objects.get(name=name)
    page = admin_client.get(f"/admin/captures/camera/{camera.pk}/change/")
    assert page.status_code == 200
    assert key.group(1) not in page.content
    # Rotate, then deactivate, through the list actions.
    rotated = admin_client.post(
        "/admin/captures/camera/", {"action": "rotate_keys", "_selected_action": [camera.pk]}
    )
    new_key = re.search(rb'<code class="api-key">(alpr_alpha_[^<]+)</code>', rotated.content)
    assert new_key is not None
    assert new_key.group(1) != key.group(1)
    admin_client.post(
        "/admin/captures/camera/", {"action": "deactivate", "_selected_action": [camera.pk]}
    )
    with schema_context(agency_a.schema_name):
        camera.refresh_from_db()
        assert camera.active is False
        changes = AccessEvent.objects.filter(action="camera_changed", details__name=name)
        assert {e.details["change"] for e in changes} == {"created", "key_rotated", "deactivated"}


def test_capture_admin_is_read_only_and_shows_no_plates(agency_a, admin_client, camera_a):
    capture = ingest_capture(agency_a, camera_a)
    with schema_context(agency_a.schema_name):
        Capture.objects.filter(pk=capture.pk).update(
            status="read", plate="VIEW123", machine_plate="VIEW123", edge_plate="VIEW123"
        )
    listing = admin_client.get("/admin/captures/capture/")
    assert listing.status_code == 200
    assert camera_a.camera.name.encode() in listing.content
    detail = admin_client.get(f"/admin/captures/capture/{capture.pk}/change/")
    assert detail.status_code == 200
    # No plate numbers: those are looked up with a purpose, on the logged search pages.
    assert b"VIEW123" not in listing.content
    assert b"VIEW123" not in detail.content
    assert b'name="status"' not in detail.content  # read-only
    assert admin_client.get("/admin/captures/capture/add/").status_code == 403
    assert admin_client.get(f"/admin/captures/capture/{capture.pk}/history/").status_code == 404
