"""An Administrator holds a capture from a search; the purge runs; the held capture survives,
ordinary search no longer shows it past retention, the hold's page does (and its image)."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from captures.holds.models import LegalHold
from captures.models import AuthorizedPurpose, Camera, Capture
from captures.retention.selectors import retention_cutoff
from captures.retention.services import purge_expired
from captures.storage import image_files
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_camera, make_stored_capture, make_user

pytestmark = pytest.mark.browser


@pytest.mark.django_db
def test_the_search_page_offers_holds_to_administrators_only(agency_a):
    """Also makes pytest-django set up the test database when this module runs alone."""
    from tests.factories import make_capture, search_data
    from tests.support import verified_client

    make_capture(agency_a, plate="7ABC123")
    for role, offered in ((Role.OFFICER, False), (Role.ADMINISTRATOR, True)):
        client = verified_client(agency_a, make_user(agency_a, roles=[role]))
        response = client.post("/search/", search_data(agency_a), follow=True)
        assert response.context["result_count"] >= 1
        assert (b'data-testid="hold-results"' in response.content) is offered


def _search(page, base, purpose_pk: int, plate: str) -> None:
    page.goto(f"{base}/search/")
    page.select_option("select[name=purpose]", str(purpose_pk))
    page.fill("input[name=case_number]", "2026-HOLD-5")
    page.fill("textarea[name=purpose_text]", "Hit-and-run at 5th and Pine, preserve for court")
    page.fill("input[name=plate]", plate)
    page.click("button:has-text('Search')")


def test_a_held_capture_survives_the_purge_and_shows_only_on_the_hold_page(
    portal_server, page, sign_in, committed
):
    assert connection.settings_dict["NAME"].startswith("test"), "not on the test database"
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:6].upper()
    admin = make_user(agency, username=f"browser-admin-{tag}", roles=[Role.ADMINISTRATOR])
    camera = make_camera(agency, name=f"Browser hold {tag}")
    plate = f"7H{tag[:5]}"
    capture = make_stored_capture(
        agency, camera, captured_at=timezone.now() - datetime.timedelta(hours=2), plate=plate
    )
    with schema_context(agency.schema_name):
        purpose = AuthorizedPurpose.objects.get(name="Stolen vehicle")
    until = (timezone.now().astimezone(agency.tz).date() + datetime.timedelta(days=90)).isoformat()
    try:
        base = sign_in(page, agency, admin)
        _search(page, base, purpose.pk, plate)
        assert page.get_by_test_id("result-count").inner_text() == "1 read found"
        page.get_by_test_id("hold-results").click()
        page.wait_for_url("**/hold/")
        assert page.locator(f"input[name=captures][value='{capture.pk}']").is_checked()
        assert page.input_value("input[name=case_number]") == "2026-HOLD-5"
        page.fill("input[name=authority]", "Subpoena 26-0419, County Superior Court")
        page.fill("textarea[name=reason]", "Defence counsel asked to preserve the read")
        page.fill("input[name=ends_on]", until)
        page.click("button:has-text('Place the hold')")
        page.wait_for_url("**/holds/*/")
        assert page.get_by_test_id("hold-state").inner_text() == "active"
        assert page.get_by_test_id("held-plate").inner_text() == plate
        with schema_context(agency.schema_name):
            hold = LegalHold.objects.get(items__capture_id=capture.pk)
        assert hold.created_by_username == admin.username

        # Days pass (the row is dated back past retention), then the nightly purge runs.
        with schema_context(agency.schema_name):
            Capture.objects.filter(pk=capture.pk).update(
                captured_at=retention_cutoff(agency) - datetime.timedelta(days=1)
            )
        result = purge_expired(agency=agency)
        assert result.held_kept >= 1
        with schema_context(agency.schema_name):
            kept = Capture.objects.get(pk=capture.pk)
            assert image_files.load_image(kept.plate_image).startswith(b"\x89PNG")

        # Ordinary search no longer finds it...
        _search(page, base, purpose.pk, plate)
        assert page.get_by_test_id("result-count").inner_text() == "0 reads found"
        # ... the hold's page does, with its image, and the view is logged with the case.
        page.goto(f"{base}/holds/{hold.pk}/")
        assert page.get_by_test_id("held-plate").inner_text() == plate
        image = page.locator("[data-testid=held-captures] img.thumb")
        image.wait_for()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        with schema_context(agency.schema_name):
            viewed = AccessEvent.objects.filter(actor_id=admin.pk, action=Action.HOLD_VIEWED)
            assert {e.case_number for e in viewed} == {"2026-HOLD-5"}
            assert AccessEvent.objects.filter(
                actor_id=admin.pk, action=Action.IMAGE_VIEWED, details__source="legal_hold"
            ).exists()
    finally:
        with schema_context(agency.schema_name):
            LegalHold.objects.filter(items__capture_id=capture.pk).delete()
            for name in (capture.plate_image, capture.vehicle_image):
                image_files.delete_image(name)
            Capture.objects.filter(camera=camera).delete()
            Camera.objects.filter(pk=camera.pk).delete()
