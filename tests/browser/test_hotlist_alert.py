"""An officer on any portal page gets a hotlist alert (banner and sound) within seconds of a
camera's POST, opens it, compares the images with the entry, confirms it and records the
outcome; the alert page updated by itself."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connections
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from captures.hotlists.models import Hit, Hotlist, HotlistEntry
from captures.ingest.services import camera_create
from captures.models import Capture
from captures.reading.matching import match_key
from captures.storage import image_files
from captures.synthetic.simulate import CaptureRequest, HttpTransport, SimCamera
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import image_bytes, make_user

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    connections.close_all()


@pytest.fixture
def hot_entry(committed):
    """A committed extract list with one entry; removed again afterwards (with its hits)."""
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:6].upper()
    plate = f"7H{tag[:5]}"
    with schema_context(agency.schema_name):
        hotlist = Hotlist.objects.create(name=f"Browser NCIC {tag}", owner="DOJ", alerts=True)
        HotlistEntry.objects.create(
            hotlist=hotlist,
            plate=plate,
            match_key=match_key(plate),
            state="CA",
            reason="stolen_vehicle",
            reference=f"V{tag}",
            notes="white Tacoma, ladder rack",
            case_number=f"2026-HOT-{tag}",
        )
        camera = camera_create(name=f"Browser hot {tag}", latitude=34.05, longitude=-118.25)
    yield agency, hotlist, plate, camera, f"2026-HOT-{tag}"
    with schema_context(agency.schema_name):
        hits = Hit.objects.filter(hotlist=hotlist)
        captures = Capture.objects.filter(camera=camera.camera)
        for capture in captures:
            image_files.delete_image(capture.plate_image)
            if capture.vehicle_image:
                image_files.delete_image(capture.vehicle_image)
        hits.delete()
        captures.delete()
        hotlist.entries.all().delete()
        hotlist.delete()


def test_an_officer_receives_and_confirms_an_alert(portal_server, page, sign_in, hot_entry):
    agency, hotlist, plate, camera, entry_case = hot_entry
    officer = make_user(agency, username=f"alert-officer-{plate}", roles=[Role.OFFICER])
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    base = sign_in(page, agency, officer)
    page.goto(f"{base}/alerts/")
    page.evaluate("window.localStorage.clear()")
    assert page.locator("#alert-banner").is_hidden()

    # The camera POSTs a read of the wanted plate, with its own reading.
    send = HttpTransport(server=f"http://127.0.0.1:{portal_server}", host="alpha.localhost")
    status, body = send(
        CaptureRequest(
            camera=SimCamera(camera=camera.camera, api_key=camera.api_key),
            fields={
                "captured_at": (timezone.now() - datetime.timedelta(seconds=2)).isoformat(),
                "plate": plate,
                "state": "CA",
                "confidence": "0.91",
            },
            files={
                "plate_image": ("plate.png", image_bytes(plate), "image/png"),
                "vehicle_image": ("v.jpg", image_bytes(plate, fmt="JPEG"), "image/jpeg"),
            },
        )
    )
    assert status == 201, body
    with schema_context(agency.schema_name):
        hit = Hit.objects.get(hotlist=hotlist)

    # No reload: the banner shows and rings, the table gains the row.
    page.wait_for_selector("#alert-banner:not([hidden])", timeout=10_000)
    assert "new hotlist alert" in page.locator("#alert-banner").inner_text()
    page.wait_for_selector(f"tr[data-alert-id='{hit.pk}']", timeout=10_000)
    assert page.locator("#alert-banner").get_attribute("data-sounded") == "1"
    assert plate not in page.locator("#alert-table").inner_text()

    # The banner is on every page while the alert is new.
    page.goto(f"{base}/search/")
    page.wait_for_selector("#alert-banner:not([hidden])", timeout=10_000)
    page.click("#alert-banner a")
    page.wait_for_url(f"**/alerts/{hit.pk}/")
    assert page.get_by_test_id("alert-read-plate").inner_text() == plate
    assert page.get_by_test_id("alert-entry-plate").inner_text() == plate
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.plate-image, img.vehicle-image')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("img.plate-image, img.vehicle-image").count() == 2
    page.wait_for_selector("#results-map[data-markers='1']")
    assert "white Tacoma, ladder rack" in page.content()

    page.check("input[name=decision][value=confirmed]")
    page.fill("input[name=note]", "plate and vehicle match the entry")
    page.click("[data-testid=decide-form] button[type=submit]")
    assert "Confirmed match" in page.get_by_test_id("alert-status").inner_text()
    page.select_option("select[name=outcome]", "vehicle_recovered")
    page.fill("input[name=case_number]", f"2026-REC-{plate}")
    page.click("[data-testid=act-form] button[type=submit]")
    assert "Vehicle recovered" in page.get_by_test_id("alert-status").inner_text()
    page.wait_for_selector("#alert-banner[hidden]", state="attached", timeout=10_000)

    with schema_context(agency.schema_name):
        stored = Hit.objects.get(pk=hit.pk)
        logged = list(
            AccessEvent.objects.filter(actor_id=officer.pk)
            .filter(action__in=[Action.ALERT_VIEWED, Action.ALERT_DECIDED, Action.ALERT_ACTED])
            .values_list("action", "case_number")
        )
    assert (stored.status, stored.outcome, stored.decided_by_username) == (
        "confirmed",
        "vehicle_recovered",
        officer.username,
    )
    assert (Action.ALERT_VIEWED, entry_case) in logged  # viewed with the entry's case
    assert (Action.ALERT_DECIDED, entry_case) in logged
    assert (Action.ALERT_ACTED, f"2026-REC-{plate}") in logged
    assert csp_errors == []
