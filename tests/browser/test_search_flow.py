"""An officer searches with a purpose, opens a result and confirms it with the keyboard."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from captures.models import AuthorizedPurpose, Capture
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_camera, make_capture, make_user

pytestmark = pytest.mark.browser


@pytest.mark.django_db
def test_search_assets_are_vendored(agency_a, in_agency):
    """Leaflet is served from our static files (no CDN); the agency has purposes to choose.

    Also makes pytest-django set up the test database when this module runs alone: it
    prepares only the databases that collected tests mark, and the browser test does not.
    """
    from django.contrib.staticfiles import finders

    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "js/review.js"):
        assert finders.find(asset), asset
    with in_agency(agency_a):
        assert AuthorizedPurpose.objects.filter(active=True).count() >= 5


def test_search_open_and_confirm_with_keyboard(
    portal_server, page, sign_in, committed, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert connection.settings_dict["NAME"].startswith("test"), "not on the test database"
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:8].upper()  # committed rows outlive the test: unique names
    officer = make_user(agency, username=f"browser-officer-{tag}", roles=[Role.OFFICER])
    plate = f"9K{tag[:5]}"
    cameras = [
        make_camera(agency, name=f"Browser {tag} {n}", latitude=34.1 + n / 10, longitude=-118.3)
        for n in range(2)
    ]
    capture = make_capture(agency, camera=cameras[0], plate=plate, state="CA", confidence=0.12)
    make_capture(agency, camera=cameras[1], plate=plate)
    with schema_context(agency.schema_name):
        purpose = AuthorizedPurpose.objects.get(name="Stolen vehicle")
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    base = f"http://alpha.localhost:{portal_server}"
    sign_in(page, agency, officer)
    page.goto(f"{base}/search/")
    page.select_option("select[name=purpose]", str(purpose.pk))
    page.fill("input[name=case_number]", "2026-BR-77")
    page.fill("textarea[name=purpose_text]", "Stolen white Tacoma seen leaving 5th and Pine")
    page.fill("input[name=plate]", plate)
    page.click("button:has-text('Search')")
    assert page.get_by_test_id("result-count").inner_text() == "2 reads found"
    page.wait_for_selector("#results-map[data-markers='2']")
    assert page.locator("#results-map .leaflet-interactive").count() == 2

    page.click(f"a.plate[href^='/captures/{capture.pk}/']")
    assert page.get_by_test_id("capture-plate").inner_text() == plate
    assert page.locator("h1 .badge-unconfirmed").is_visible()
    page.click("text=Review this read")
    assert re.search(rf"/review/{capture.pk}/", page.url)
    page.wait_for_load_state("load")
    page.keyboard.press("c")
    page.wait_for_url(re.compile(rf"/captures/{capture.pk}/\?search=\d+$"))
    assert page.locator("h1 .badge-confirmed").inner_text() == "Confirmed"
    assert f"Confirmed {plate} CA." in page.locator(".messages").inner_text()
    assert csp_errors == []

    with schema_context(agency.schema_name):
        assert Capture.objects.get(pk=capture.pk).review_status == "confirmed"
        actions = list(
            AccessEvent.objects.filter(actor_id=officer.pk)
            .filter(action__in=["search", "capture_viewed", "review"])
            .order_by("id")
            .values_list("action", "related_event_id")
        )
    assert [a for a, _ in actions] == [
        "search",
        "capture_viewed",
        "capture_viewed",
        "review",
        "capture_viewed",
    ]
    with schema_context(agency.schema_name):
        search = AccessEvent.objects.get(actor_id=officer.pk, action="search")
    assert search.query["plate"] == plate
    assert search.case_number == "2026-BR-77"
    assert all(related == search.pk for _, related in actions[1:])

    # The other shortcuts, on the second read: E edits, Enter saves the correction.
    with schema_context(agency.schema_name):
        other_pk = Capture.objects.filter(plate=plate).exclude(pk=capture.pk).get().pk
    # Opened outside the search, the read is part of a review session: its purpose first.
    page.goto(f"{base}/review/{other_pk}/")
    assert page.url.startswith(f"{base}/review/?item={other_pk}")
    assert plate not in page.locator("main").inner_text()
    page.select_option("select[name=purpose]", label="Quality review of computer reads")
    page.click("#btn-start-review")
    page.wait_for_url(f"{base}/review/{other_pk}/")
    assert page.get_by_test_id("review-session").is_visible()
    page.wait_for_load_state("load")
    page.keyboard.press("e")
    page.keyboard.type("9kx0001")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/review/")
    assert "to 9KX0001 CA" in page.locator(".messages").inner_text()
    with schema_context(agency.schema_name):
        corrected = Capture.objects.get(pk=other_pk)
    assert (corrected.plate, corrected.machine_plate) == ("9KX0001", plate)
    assert corrected.review_status == "corrected"
    with schema_context(agency.schema_name):
        session = AccessEvent.objects.get(actor_id=officer.pk, action="review_session")
        about_other = [
            (e.action, e.related_event_id)
            for e in AccessEvent.objects.filter(actor_id=officer.pk)
            .exclude(action="results_viewed")  # the search's results pages list it too
            .order_by("id")
            # Entries about that read (a capture page lists the other reads it shows after it).
            if e.objects_touched[:1] == [{"type": "capture", "id": str(other_pk)}]
        ]
    assert session.purpose_category == "Quality review of computer reads"
    # The item page and the decision name the session (the test reads have no image bytes).
    assert about_other == [("capture_viewed", session.pk), ("review", session.pk)]
    assert csp_errors == []
