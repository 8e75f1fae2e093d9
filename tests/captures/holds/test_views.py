"""The hold pages: holding a search result, by case number, the hold's page (the only place
its captures past retention show, logged with the case), renew, lift, images, other agency."""

from __future__ import annotations

import datetime
import re

import pytest
from django_tenants.utils import schema_context

from audit.flags import flags_scan
from audit.models import Action, Flag
from audit.services import record_event
from captures.holds.models import LegalHold
from captures.retention.selectors import retention_cutoff
from tenants.people.roles import Role
from tests.factories import (
    ingest_capture,
    make_capture,
    make_hold,
    make_user,
    search_data,
    unique,
)
from tests.support import events, verified_client

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def admin_a(agency_a):
    return make_user(agency_a, roles=[Role.ADMINISTRATOR])


@pytest.fixture
def admin_client(agency_a, admin_a):
    return verified_client(agency_a, admin_a)


def _until(agency, days=30) -> str:
    return (datetime.datetime.now(agency.tz).date() + DAY * days).isoformat()


def _hold_fields(agency, **overrides):
    data = {
        "case_number": "2026-CR-88",
        "authority": "Subpoena 26-300",
        "reason": "Defence asked to preserve",
        "ends_on": _until(agency),
    }
    data.update(overrides)
    return data


def _search(client, agency, plate) -> int:
    """Run a search through the page (POST, then the redirect to the logged search)."""
    response = client.post("/search/", search_data(agency, plate=plate), follow=True)
    assert response.status_code == 200
    return response.context["search_id"]


def test_an_administrator_holds_captures_of_a_search_result(agency_a, admin_client, admin_a):
    plate = unique("9H")[:7].upper()
    picked, left = make_capture(agency_a, plate=plate), make_capture(agency_a, plate=plate)
    unrelated = make_capture(agency_a, plate="ZZZ9999")
    search_id = _search(admin_client, agency_a, plate)
    page = admin_client.get(f"/search/?search={search_id}")
    assert f"/search/{search_id}/hold/".encode() in page.content

    form = admin_client.get(f"/search/{search_id}/hold/")
    assert form.status_code == 200
    assert plate.encode() in form.content
    assert form.content.count(b'name="captures"') == 2

    # Only the search's own reads can be held from here.
    refused = admin_client.post(
        f"/search/{search_id}/hold/",
        {**_hold_fields(agency_a), "captures": [str(picked.pk), str(unrelated.pk)]},
    )
    assert refused.status_code == 200
    assert b"Select a valid choice" in refused.content
    response = admin_client.post(
        f"/search/{search_id}/hold/", {**_hold_fields(agency_a), "captures": [str(picked.pk)]}
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        hold = LegalHold.objects.get()
        assert list(hold.items.values_list("capture_id", flat=True)) == [picked.pk]
    assert response["Location"] == f"/holds/{hold.pk}/"
    assert (hold.source, hold.source_event_id, hold.created_by_id) == (
        "search",
        search_id,
        admin_a.pk,
    )
    (entry,) = events(agency_a, action=Action.HOLD_PLACED, details__hold_id=hold.pk)
    assert entry.related_event_id == search_id
    assert left.pk not in {o["id"] for o in entry.objects_touched}


def test_a_search_of_someone_else_cannot_be_held(agency_a, admin_client):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    make_capture(agency_a, plate="7ABC123")
    search_id = _search(verified_client(agency_a, officer), agency_a, "7ABC123")
    assert admin_client.get(f"/search/{search_id}/hold/").status_code == 404


def test_the_hold_page_shows_held_captures_past_retention_and_logs_the_case(agency_a, admin_client):
    plate = unique("8P")[:7].upper()
    taken = retention_cutoff(agency_a) - DAY
    capture = make_capture(agency_a, plate=plate, captured_at=taken)
    hold = make_hold(agency_a, [capture], now=taken + DAY / 2, case_number="CASE-77")

    # Ordinary reads no longer show it...
    search_id = _search(admin_client, agency_a, plate)
    shown = admin_client.get(f"/search/?search={search_id}")
    assert shown.context["result_count"] == 0
    assert admin_client.get(f"/captures/{capture.pk}/").status_code == 404
    # ... the hold's page does, and says so in the log.
    page = admin_client.get(f"/holds/{hold.pk}/")
    assert page.status_code == 200
    assert re.search(rf'data-testid="held-plate">{plate}<', page.content.decode())
    (viewed,) = events(agency_a, action=Action.HOLD_VIEWED, details__hold_id=hold.pk)
    assert viewed.case_number == "CASE-77"
    assert viewed.purpose_category == "Legal hold"
    assert {"type": "capture", "id": str(capture.pk)} in viewed.objects_touched
    assert viewed.details["plates"] == [plate]


def test_a_lifted_hold_shows_no_captures(agency_a, admin_client):
    capture = make_capture(agency_a, plate="LIFT123")
    hold = make_hold(agency_a, [capture])
    response = admin_client.post(f"/holds/{hold.pk}/release/", {"reason": "Case dismissed"})
    assert response.status_code == 302
    page = admin_client.get(f"/holds/{hold.pk}/")
    assert b"LIFT123" not in page.content
    assert b'data-testid="hold-over"' in page.content
    assert events(agency_a, action=Action.HOLD_VIEWED, details__hold_id=hold.pk) == []
    (lifted,) = events(agency_a, action=Action.HOLD_RELEASED, details__hold_id=hold.pk)
    assert lifted.purpose_text == "Case dismissed"


def test_renew_from_the_page_and_its_errors(agency_a, admin_client):
    hold = make_hold(agency_a, [make_capture(agency_a)], days=10)
    too_far = admin_client.post(
        f"/holds/{hold.pk}/renew/", {"ends_on": _until(agency_a, 500), "reason": "x"}, follow=True
    )
    assert b"at most one year" in too_far.content
    empty = admin_client.post(f"/holds/{hold.pk}/renew/", {}, follow=True)
    assert b"This field is required" in empty.content
    new_end = _until(agency_a, 200)
    done = admin_client.post(
        f"/holds/{hold.pk}/renew/", {"ends_on": new_end, "reason": "Appeal"}, follow=True
    )
    assert done.status_code == 200
    assert b'data-testid="renewals"' in done.content
    with schema_context(agency_a.schema_name):
        assert LegalHold.objects.get(pk=hold.pk).ends_on.isoformat() == new_end
    assert len(events(agency_a, action=Action.HOLD_RENEWED, details__hold_id=hold.pk)) == 1


def test_hold_by_case_number(agency_a, admin_client, admin_a):
    capture = make_capture(agency_a)
    with schema_context(agency_a.schema_name):
        record_event(
            action=Action.CAPTURE_VIEWED,
            actor=admin_a,
            case_number="CASE-9",
            objects=[("capture", capture.pk)],
        )
    none = admin_client.post("/holds/new/", _hold_fields(agency_a, case_number="CASE-NONE"))
    assert none.status_code == 200
    assert b"No capture was viewed" in none.content
    late = admin_client.post("/holds/new/", _hold_fields(agency_a, ends_on="2099-01-01"))
    assert b"at most one year" in late.content
    response = admin_client.post("/holds/new/", _hold_fields(agency_a, case_number="CASE-9"))
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        hold = LegalHold.objects.get()
    assert (hold.source, hold.capture_count) == ("case", 1)
    listing = admin_client.get("/holds/")
    assert b"CASE-9" in listing.content


def test_images_of_held_captures_are_served_and_logged(agency_a, admin_client, camera_a):
    capture = ingest_capture(agency_a, camera_a, text="IMG4567")
    hold = make_hold(agency_a, [capture], case_number="CASE-IMG")
    image_url = f"/holds/{hold.pk}/captures/{capture.pk}/image/plate/"
    direct = admin_client.get(image_url)  # without the hold's page first: no purpose entry
    assert direct.status_code == 200
    assert direct["Content-Type"] == "image/png"
    assert "no-store" in direct["Cache-Control"]
    admin_client.get(f"/holds/{hold.pk}/")
    admin_client.get(image_url)
    (page,) = events(agency_a, action=Action.HOLD_VIEWED, details__hold_id=hold.pk)
    first, second = events(agency_a, action=Action.IMAGE_VIEWED, details__hold_id=hold.pk)
    assert (second.case_number, second.details["source"]) == ("CASE-IMG", "legal_hold")
    assert (first.related_event_id, second.related_event_id) == (None, page.pk)
    with schema_context(agency_a.schema_name):
        flags_scan(agency=agency_a)
        flagged = set(Flag.objects.values_list("event_id", flat=True))
    assert first.pk in flagged
    assert second.pk not in flagged
    other = make_capture(agency_a)
    assert admin_client.get(f"/holds/{hold.pk}/captures/{other.pk}/image/plate/").status_code == 404
    assert admin_client.get(f"/holds/{hold.pk}/captures/{capture.pk}/image/x/").status_code == 404


def test_another_agencys_hold_is_a_404(agency_a, agency_b, admin_client):
    capture_b = make_capture(agency_b, plate="BRAVO12")
    hold_b = make_hold(agency_b, [capture_b])
    with schema_context(agency_a.schema_name):
        LegalHold.objects.filter(pk=hold_b.pk).delete()  # ids are per schema
    for path in (
        f"/holds/{hold_b.pk}/",
        f"/holds/{hold_b.pk}/record/",
        f"/holds/{hold_b.pk}/captures/{capture_b.pk}/image/plate/",
    ):
        assert admin_client.get(path).status_code == 404
    for path in (f"/holds/{hold_b.pk}/renew/", f"/holds/{hold_b.pk}/release/"):
        assert admin_client.post(path, {"reason": "x"}).status_code == 404
    with schema_context(agency_b.schema_name):
        assert LegalHold.objects.get(pk=hold_b.pk).released_at is None


def test_officers_cannot_reach_holds_and_auditors_only_the_register(agency_a):
    hold = make_hold(agency_a, [make_capture(agency_a)])
    officer = verified_client(agency_a, make_user(agency_a, roles=[Role.OFFICER]))
    for path in ("/holds/", f"/holds/{hold.pk}/", f"/holds/{hold.pk}/record/"):
        assert officer.get(path).status_code == 403
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    assert auditor.get(f"/holds/{hold.pk}/").status_code == 403  # the captures: no
    assert auditor.post(f"/holds/{hold.pk}/release/", {"reason": "x"}).status_code == 403
    assert auditor.get(f"/holds/{hold.pk}/captures/x/image/plate/").status_code in (403, 404)


def test_auditors_read_the_register_of_holds_without_any_plate(agency_a, admin_client):
    plate = unique("9R")[:7].upper()
    hold = make_hold(
        agency_a, [make_capture(agency_a, plate=plate)], case_number="CASE-REG-1", days=40
    )
    admin_client.post(
        f"/holds/{hold.pk}/renew/", {"ends_on": _until(agency_a, 90), "reason": "Trial moved"}
    )
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    logged_before = len(events(agency_a, action=Action.HOLD_VIEWED))

    listing = auditor.get("/holds/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert f'href="/holds/{hold.pk}/record/"' in body
    assert f'href="/holds/{hold.pk}/"' not in body
    assert "/holds/new/" not in body
    record = auditor.get(f"/holds/{hold.pk}/record/")
    page = record.content.decode()
    assert record.status_code == 200
    for shown in ("CASE-REG-1", "Subpoena 26-118, Superior Court", "Trial moved"):
        assert shown in page
    assert plate not in body + page
    assert "held-captures" not in page
    # No capture was shown, so no hold view is logged for the register.
    assert len(events(agency_a, action=Action.HOLD_VIEWED)) == logged_before
    # Administrators keep their link to the hold's page.
    assert f'href="/holds/{hold.pk}/"' in admin_client.get("/holds/").content.decode()
