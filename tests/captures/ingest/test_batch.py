"""POST /api/v1/captures/batch/: up to 100 buffered captures, each checked, stored and answered
on its own, idempotent by capture_id (captures/ingest/batch.py)."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from captures.models import Capture
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db

BATCH = "/api/v1/captures/batch/"


def _item(index: int, *, capture_id: str | None = None, vehicle: bool = True, **fields) -> dict:
    when = timezone.now() - datetime.timedelta(minutes=10 + index)
    data = {
        f"{index}.plate_image": SimpleUploadedFile("p.png", image_bytes(seed=index), "image/png"),
        f"{index}.captured_at": when.isoformat(),
        f"{index}.capture_id": capture_id or str(uuid.uuid4()),
    }
    if vehicle:
        data[f"{index}.vehicle_image"] = SimpleUploadedFile(
            "v.jpg", image_bytes(fmt="JPEG", seed=index + 50), "image/jpeg"
        )
    data.update({f"{index}.{k}": v for k, v in fields.items()})
    return {k: v for k, v in data.items() if v is not None}


def _post(client, key, data):
    return client.post(BATCH, data=data, HTTP_AUTHORIZATION=f"Bearer {key}")


def _fresh(data: dict) -> dict:
    """The same batch again (uploaded files are read once: new ones, same bytes)."""
    return {
        k: SimpleUploadedFile(v.name, (v.seek(0), v.read())[1], v.content_type)
        if isinstance(v, SimpleUploadedFile)
        else v
        for k, v in data.items()
    }


def test_each_item_is_stored_or_refused_on_its_own_and_a_resend_stores_nothing_twice(
    client_a, camera_a, agency_a
):
    data = {**_item(0), **_item(1, vehicle=False), **_item(2, captured_at="yesterday"), **_item(3)}
    response = _post(client_a, camera_a.api_key, data)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["status"] for r in body["results"]] == [201, 201, 400, 201]
    assert (body["stored"], body["already_stored"], body["refused"]) == (3, 0, 1)
    refused = body["results"][2]
    assert refused["field"] == "captured_at"
    assert "ISO 8601" in refused["detail"]
    ids = {r["id"] for r in body["results"] if r["status"] == 201}
    with schema_context(agency_a.schema_name):
        stored = Capture.objects.filter(camera=camera_a.camera)
        assert set(map(str, stored.values_list("pk", flat=True))) == ids
        assert stored.filter(client_capture_id=data["2.capture_id"]).count() == 0

    again = _post(client_a, camera_a.api_key, _fresh(data)).json()
    assert [r["status"] for r in again["results"]] == [200, 200, 400, 200]
    assert {r["id"] for r in again["results"] if r["status"] == 200} == ids
    with schema_context(agency_a.schema_name):
        assert Capture.objects.filter(camera=camera_a.camera).count() == 3


def test_an_item_needs_a_capture_id_and_its_own_plate_image(client_a, camera_a):
    data = {**_item(0), **_item(1)}
    data["0.capture_id"] = ""
    del data["1.plate_image"]
    results = _post(client_a, camera_a.api_key, data).json()["results"]
    assert [(r["status"], r["field"]) for r in results] == [
        (400, "capture_id"),
        (400, "plate_image"),
    ]


def test_whole_request_problems_answer_the_request(client_a, camera_a):
    too_many = _post(client_a, camera_a.api_key, {"100.captured_at": "x"})
    assert too_many.status_code == 413
    assert "at most 100" in too_many.json()["detail"]
    odd = _post(client_a, camera_a.api_key, {"plate_image": "x"})
    assert odd.status_code == 400
    assert odd.json()["field"] == "plate_image"
    empty = _post(client_a, camera_a.api_key, {})
    assert empty.status_code == 400
    assert _post(client_a, "alpr_alpha_nope_nope", _item(0)).status_code == 401


def test_the_batch_is_in_the_openapi_schema(client_a):
    text = client_a.get("/api/schema/").content.decode()
    assert "/api/v1/captures/batch/" in text
    assert "capture_batch_create" in text
    assert "already_stored" in text
