"""The search as a browser meets it: POST then a redirect to the results (reloading and going
back run and log nothing), the camera filter, the street basemap and the map linked to the
table."""

from __future__ import annotations

import re
import uuid

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from audit.models import AccessEvent
from captures.models import AuthorizedPurpose
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_camera, make_capture, make_user

pytestmark = pytest.mark.browser


def _searches(agency: Agency, officer) -> int:
    with schema_context(agency.schema_name):
        return AccessEvent.objects.filter(actor_id=officer.pk, action="search").count()


def test_search_redirects_and_the_map_follows_the_table(portal_server, page, sign_in, committed):
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:8].upper()  # committed rows outlive the test: unique names
    officer = make_user(agency, username=f"browser-results-{tag}", roles=[Role.OFFICER])
    plate = f"8R{tag[:5]}"
    # In the demo area, so the vendored basemap is under the points.
    north = make_camera(agency, name=f"Results {tag} north", latitude=45.5231, longitude=-122.6765)
    east = make_camera(agency, name=f"Results {tag} east", latitude=45.5123, longitude=-122.6589)
    for _ in range(9):  # enough cameras for the filter box
        make_camera(agency, name=f"Other {tag} {uuid.uuid4().hex[:6]}")
    make_capture(agency, camera=north, plate=plate)
    make_capture(agency, camera=north, plate=plate)
    make_capture(agency, camera=east, plate=plate)
    with schema_context(agency.schema_name):
        purpose = AuthorizedPurpose.objects.get(name="Stolen vehicle")
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    base = sign_in(page, agency, officer)
    page.goto(f"{base}/search/")
    # Cameras are checkboxes; the filter box narrows them by name.
    page.fill("#camera-filter", f"Results {tag}")
    assert page.locator("#camera-list label:visible").count() == 2
    page.check(f"input[name=cameras][value='{north.pk}']")
    page.check(f"input[name=cameras][value='{east.pk}']")
    page.fill("#camera-filter", "no such camera")
    assert page.locator("#camera-list label:visible").count() == 2  # checked ones stay
    page.select_option("select[name=purpose]", str(purpose.pk))
    page.fill("input[name=case_number]", "2026-MAP-1")
    page.fill("textarea[name=purpose_text]", "Blue sedan in a hit and run at Main and 1st")
    page.fill("input[name=plate]", plate)
    page.click("button:has-text('Search')")

    # POST, then the results page of the logged search.
    page.wait_for_url(re.compile(r"/search/\?search=\d+$"))
    results_url = page.url
    assert page.get_by_test_id("result-count").inner_text() == "3 reads found"
    assert _searches(agency, officer) == 1
    page.reload()
    assert page.get_by_test_id("result-count").inner_text() == "3 reads found"
    page.go_back()  # to the form
    page.go_forward()  # to the results again: no resubmission
    assert page.url == results_url
    assert _searches(agency, officer) == 1

    # The street basemap (vendored: no tile server in tests) under two points.
    page.wait_for_selector("#results-map[data-markers='2'][data-basemap='vendored']")
    overlay = page.locator("#results-map img.basemap-image")
    assert overlay.count() == 1
    assert overlay.get_attribute("src").endswith("/vendor/demo-basemap/demo-area.svg")
    page.wait_for_function(
        "document.querySelector('#results-map img.basemap-image').naturalWidth > 0"
    )

    # Hovering a row lights its point and names it; leaving it turns it off.
    east_row = page.locator(f"tr[data-camera='Results {tag} east']")
    east_row.hover()
    active = page.locator("#results-map path.is-active")
    assert active.count() == 1
    expect(page.locator(".leaflet-tooltip")).to_have_text([f"Results {tag} east: 1 read"])
    north_rows = page.locator(f"tr[data-camera='Results {tag} north']")
    north_rows.first.hover()
    assert page.locator("#results-map path.is-active").count() == 1
    expect(page.locator(".leaflet-tooltip")).to_have_text([f"Results {tag} north: 2 reads"])
    # ... and hovering a point lights its rows.
    page.mouse.move(0, 0)
    expect(page.locator("#results-map path.is-active")).to_have_count(0)
    # Points are listed busiest first: the east camera's single read is point 1.
    page.locator("#results-map path[data-point='1']").hover(force=True)
    assert page.locator("tr.is-active").count() == 1
    assert page.locator("tr.is-active").get_attribute("data-camera") == f"Results {tag} east"
    assert csp_errors == []
