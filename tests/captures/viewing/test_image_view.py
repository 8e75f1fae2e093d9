"""The authenticated image view: agency scope, roles, training, second factor, no caching, and
only under the access-log entry of the page that showed the image."""

from __future__ import annotations

import datetime
import io

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from PIL import Image

from audit.models import AccessEvent
from audit.services import record_backdated_event, record_event
from captures.models import Capture
from tenants.people.roles import Role
from tests.factories import ingest_capture, make_user
from tests.support import verified_client

pytestmark = pytest.mark.django_db


def _url(capture, kind="plate") -> str:
    return f"/captures/{capture.pk}/image/{kind}/"


def _events(agency, capture, action="image_viewed") -> list[AccessEvent]:
    with schema_context(agency.schema_name):
        return [
            e
            for e in AccessEvent.objects.filter(action=action).order_by("id")
            if {"type": "capture", "id": str(capture.pk)} in e.objects_touched
        ]


def _page_view(client, agency, capture) -> AccessEvent:
    """Open the capture page (directly) and return its capture_viewed entry."""
    page = client.get(f"/captures/{capture.pk}/").content.decode()
    (view,) = _events(agency, capture, "capture_viewed")[-1:]
    assert f"{_url(capture)}?view={view.pk}" in page
    return view


def test_images_are_served_under_the_capture_page_entry_that_lists_them(agency_a, camera_a):
    capture = ingest_capture(agency_a, camera_a, vehicle=True)
    officer = make_user(agency_a)
    client = verified_client(agency_a, officer)
    view = _page_view(client, agency_a, capture)
    assert view.details["reads"] == [
        {
            "capture": str(capture.pk),
            "plate": capture.plate,
            "state": capture.state,
            "images": ["plate", "vehicle"],
        }
    ]
    response = client.get(_url(capture) + f"?view={view.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"]
    assert Image.open(io.BytesIO(response.content)).size == (360, 180)
    vehicle = client.get(_url(capture, "vehicle") + f"?view={view.pk}")
    assert vehicle.status_code == 200
    assert vehicle["Content-Type"] == "image/jpeg"
    # One entry for the page and its two images; none per image.
    assert _events(agency_a, capture) == []
    assert len(_events(agency_a, capture, "capture_viewed")) == 1


def test_images_without_the_entry_of_a_page_that_showed_them_are_refused(agency_a, camera_a):
    capture = ingest_capture(agency_a, camera_a, vehicle=True)
    other = ingest_capture(agency_a, camera_a)
    officer = make_user(agency_a)
    client = verified_client(agency_a, officer)
    colleague = verified_client(agency_a, make_user(agency_a))
    theirs = _page_view(colleague, agency_a, capture)
    elsewhere = _page_view(client, agency_a, other)
    with schema_context(agency_a.schema_name):
        search = record_event(action="search", actor=officer, purpose_category="Stolen vehicle")
    for query in (
        "",  # no page named
        f"?view={theirs.pk}",  # someone else's page
        f"?view={elsewhere.pk}",  # a page that showed another read
        f"?view={search.pk}",  # a search is not a page that showed this image
        "?search=" + str(search.pk),  # the old way
        "?view=abc",
        "?view=-1",
    ):
        response = client.get(_url(capture) + query)
        assert response.status_code == 403, query
        assert b"open the read from there" in response.content
        assert "no-store" in response["Cache-Control"]
    mine = _page_view(client, agency_a, capture)
    assert client.get(_url(capture) + f"?view={mine.pk}").status_code == 200
    assert _events(agency_a, capture) == []


def test_a_page_entry_older_than_a_sign_in_no_longer_covers_its_images(agency_a, camera_a):
    capture = ingest_capture(agency_a, camera_a)
    officer = make_user(agency_a)
    client = verified_client(agency_a, officer)
    listed = {"reads": [{"capture": str(capture.pk), "images": ["plate"]}]}
    longest = datetime.timedelta(seconds=django_settings.SESSION_ABSOLUTE_SECONDS)
    with schema_context(agency_a.schema_name):
        old, recent = (
            record_backdated_event(
                occurred_at=timezone.now() - age,
                action="capture_viewed",
                actor=officer,
                objects=[("capture", capture.pk)],
                details=listed,
            )
            for age in (longest + datetime.timedelta(minutes=1), longest / 2)
        )
    assert client.get(_url(capture) + f"?view={old.pk}").status_code == 403
    assert client.get(_url(capture) + f"?view={recent.pk}").status_code == 200


def test_agency_a_user_gets_404_for_agency_b_capture(agency_a, agency_b, camera_b):
    capture_b = ingest_capture(agency_b, camera_b)
    client = verified_client(agency_a, make_user(agency_a, roles=[Role.ADMINISTRATOR]))
    assert client.get(_url(capture_b)).status_code == 404
    assert _events(agency_b, capture_b) == []
    # The same id on B's host, by B's officer, works: the id is real, only the scope differs.
    client_b = verified_client(agency_b, make_user(agency_b))
    view_b = _page_view(client_b, agency_b, capture_b)
    assert client_b.get(_url(capture_b) + f"?view={view_b.pk}").status_code == 200
    assert client.get(_url(capture_b) + f"?view={view_b.pk}").status_code == 404


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
    view = _page_view(client, agency_a, capture)
    response = client.get(_url(capture) + f"?view={view.pk}")
    assert response.status_code == 404
    assert _events(agency_a, capture) == []
