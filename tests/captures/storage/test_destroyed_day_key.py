"""A UTC day whose data key was destroyed (the purge shreds day keys): clear 4xx, nothing stored."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from captures.ingest.services import capture_ingest
from captures.models import Capture
from captures.storage import image_files
from tests.factories import image_bytes, make_user
from tests.support import stored_files, verified_client

pytestmark = pytest.mark.django_db


def test_camera_upload_for_a_day_whose_key_was_destroyed_is_refused(
    client_a, agency_a, camera_a, storage_dir
):
    # Within retention (the agency may have raised it after the purge shredded the day).
    captured_at = timezone.now() - datetime.timedelta(days=2)
    day = captured_at.astimezone(datetime.UTC).date()
    with schema_context(agency_a.schema_name):
        image_files.delete_image(image_files.store_image(day=day, data=b"earlier image"))
        assert image_files.destroy_day_key(day) is True
        captures_before = Capture.objects.count()
    files_before = stored_files(storage_dir)

    response = client_a.post(
        "/api/v1/captures/",
        data={
            "captured_at": captured_at.isoformat(),
            "plate_image": SimpleUploadedFile("p.png", image_bytes(), "image/png"),
            "vehicle_image": SimpleUploadedFile("v.png", image_bytes(seed=2), "image/png"),
        },
        HTTP_AUTHORIZATION=f"Bearer {camera_a.api_key}",
    )

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["field"] == "captured_at"
    assert "image key was destroyed" in body["detail"]
    assert day.isoformat() in body["detail"]
    with schema_context(agency_a.schema_name):
        assert Capture.objects.count() == captures_before
    assert stored_files(storage_dir) == files_before


def test_image_of_a_capture_whose_day_key_was_destroyed_is_gone_not_an_error(agency_a, camera_a):
    with schema_context(agency_a.schema_name):
        capture = capture_ingest(
            camera=camera_a.camera,
            agency=agency_a,
            plate_image=image_bytes("GONE123"),
            captured_at=timezone.now() - datetime.timedelta(minutes=5),
        ).capture
    client = verified_client(agency_a, make_user(agency_a))
    client.get(f"/captures/{capture.pk}/")  # the page whose entry lists the image
    with schema_context(agency_a.schema_name):
        view = AccessEvent.objects.filter(action="capture_viewed").latest("id")
    image_url = f"/captures/{capture.pk}/image/plate/?view={view.pk}"
    assert client.get(image_url).status_code == 200
    with schema_context(agency_a.schema_name):
        assert image_files.destroy_day_key(capture.key_day) is True
        entries_before = AccessEvent.objects.count()

    response = client.get(image_url)

    assert response.status_code == 410
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    assert b"destroyed with its day's encryption key" in response.content
    with schema_context(agency_a.schema_name):
        # Nothing was shown, so nothing is logged as viewed.
        assert AccessEvent.objects.count() == entries_before
