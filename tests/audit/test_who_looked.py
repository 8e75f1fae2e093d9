"""Who looked at this plate? Filtering the access log by a plate finds the searches for it
(exact or a matching pattern), every page that showed a read of it (capture pages, review
items, results pages, printouts) and exports filtered by it; the pages say so in words."""

from __future__ import annotations

import re

import pytest

from audit.models import Action
from tenants.people.roles import Role
from tests.factories import make_capture, make_user, search_data, search_event
from tests.support import events, verified_client

pytestmark = pytest.mark.django_db

PLATE = "7WHO777"


@pytest.fixture
def auditor_client(agency_a):
    return verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))


def _listed_ids(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'<td><a href="/audit/events/(\d+)/">', page)}


def _search(client, agency, user, plate: str) -> int:
    client.post("/search/", search_data(agency, plate=plate), follow=True)
    return events(agency, actor_id=user.pk, action="search")[-1].pk


def test_filtering_by_plate_finds_searches_views_and_exports_of_it(agency_a, auditor_client):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    capture = make_capture(agency_a, plate=PLATE, state="OR", review_status="confirmed")
    exact = _search(client, agency_a, officer, PLATE)
    pattern = _search(client, agency_a, officer, "7WHO*")  # a pattern that matched it
    client.get(f"/captures/{capture.pk}/?search={exact}")
    client.post(
        f"/captures/{capture.pk}/print/?search={exact}",
        {"case_number": "26-55", "destination": "agency"},
    )
    auditor_client.get(f"/audit/export.csv?plate={PLATE}")  # an export of its entries
    # Entries about other plates stay out, including patterns that do not match it.
    other = make_user(agency_a, roles=[Role.OFFICER])
    other_client = verified_client(agency_a, other)
    make_capture(agency_a, plate="7WHX000")
    unrelated = [
        _search(other_client, agency_a, other, "7WHX000"),
        _search(other_client, agency_a, other, "8WHO*"),
        _search(other_client, agency_a, other, "7WHO77"),  # a prefix is not the plate
    ]

    page = auditor_client.get("/audit/?plate=7who-777").content.decode()
    listed = _listed_ids(page)
    mine = events(agency_a, actor_id=officer.pk)
    by_action = {}
    for event in mine:
        by_action.setdefault(event.action, []).append(event.pk)
    assert {exact, pattern} <= listed
    assert set(by_action[Action.RESULTS_VIEWED]) <= listed  # both results pages showed it
    assert set(by_action[Action.CAPTURE_VIEWED]) <= listed
    assert set(by_action[Action.EXPORT]) <= listed  # the printout
    exports = [e for e in events(agency_a, action="export") if e.query.get("plate") == PLATE]
    assert exports
    assert exports[0].pk in listed  # the access-log export filtered by the plate
    assert not listed & set(unrelated)
    assert not listed & {e.pk for e in events(agency_a, actor_id=other.pk)}


def test_look_alike_characters_are_folded_and_the_page_says_so(agency_a, auditor_client):
    """As the searches fold plates (match_key): ABC1O3 (letter O) finds entries for ABC103."""
    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    capture = make_capture(agency_a, plate="ABC103", review_status="confirmed")
    exact = _search(client, agency_a, officer, "ABC103")
    pattern = _search(client, agency_a, officer, "A8C1*")  # a pattern matching it once folded
    client.get(f"/captures/{capture.pk}/?search={exact}")
    views = events(agency_a, actor_id=officer.pk, action="capture_viewed")
    results = [  # the exact search's results page listed the read
        e
        for e in events(agency_a, actor_id=officer.pk, action="results_viewed")
        if e.related_event_id == exact
    ]
    other = make_user(agency_a, roles=[Role.OFFICER])
    other_client = verified_client(agency_a, other)
    unrelated = [  # a different character is still a different plate
        _search(other_client, agency_a, other, "ABC104"),
        _search(other_client, agency_a, other, "ABC1X*"),
    ]

    response = auditor_client.get("/audit/?plate=ABC1O3")
    page = response.content.decode()
    listed = _listed_ids(page)
    assert {exact, pattern} <= listed
    assert views
    assert {e.pk for e in views} <= listed  # details.plate and details.reads
    assert results
    assert {e.pk for e in results} <= listed
    assert not listed & set(unrelated)
    note = re.search(r'data-testid="plate-folding">(.*?)</p>', page, re.S)
    assert note, "the page says that the filter folded look-alike characters"
    assert "ABC1O3" in note.group(1)
    assert "O/Q/D/0" in note.group(1)
    # Folding goes both ways: the plate as logged finds the same entries.
    assert _listed_ids(auditor_client.get("/audit/?plate=ABC103").content.decode()) == listed


def test_no_folding_note_for_a_plate_without_look_alikes(agency_a, auditor_client):
    page = auditor_client.get("/audit/?plate=7WXY777").content.decode()
    assert 'data-testid="plate-folding"' not in page


def test_a_capture_view_carries_the_plate_read_then(agency_a):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    capture = make_capture(agency_a, plate="7THEN77", state="WA")
    client.get(f"/captures/{capture.pk}/")
    (view,) = events(agency_a, actor_id=officer.pk, action="capture_viewed")
    assert (view.details["plate"], view.details["state"]) == ("7THEN77", "WA")
    assert view.details["reads"][0]["plate"] == "7THEN77"


def test_the_list_and_the_entry_page_speak_in_plates_and_words(agency_a, auditor_client):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    capture = make_capture(agency_a, plate="7WRD777", state="OR")
    make_capture(agency_a, plate="7WRD777", state="OR")
    search = _search(client, agency_a, officer, "7WRD777")
    client.get(f"/captures/{capture.pk}/?search={search}")
    view = events(agency_a, actor_id=officer.pk, action="capture_viewed")[-1]

    listing = auditor_client.get("/audit/?plate=7WRD777").content.decode()
    assert '<span class="plate">7WRD777</span>' in listing
    assert "Searched for plate 7WRD777" in listing
    assert "2 reads found" in listing
    assert "Viewed page 1 of the search&#x27;s results: 7WRD777 (OR), 7WRD777 (OR)" in listing

    page = auditor_client.get(f"/audit/events/{view.pk}/").content.decode()
    visible, _, stored = page.partition('<details class="raw-entry">')
    what = re.search(r'data-testid="what-happened">(.*?)</dd>', visible, re.S).group(1)
    assert "Viewed the read of 7WRD777 (OR) from a search" in what
    assert "Also listed 1 other read of the plate: 7WRD777 (OR)." in what
    assert 'href="/audit/?plate=7WRD777"' in visible  # who else looked at it
    assert str(capture.pk) not in visible  # no capture ids, no JSON up front
    assert '<pre class="json">' not in visible
    assert str(capture.pk) in stored  # the entry as hashed stays one click away

    search_page = auditor_client.get(f"/audit/events/{search}/").content.decode()
    followups = search_page.partition("What followed from this entry")[2]
    assert "Viewed the read of 7WRD777 (OR)" in followups
    assert str(capture.pk) not in followups


def test_refused_search_and_settings_in_words(agency_a, auditor_client, in_agency):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    with in_agency(agency_a):
        refused = search_event(officer, plate="7RFS777", outcome="refused", reason="No purpose")
    page = auditor_client.get(f"/audit/events/{refused.pk}/").content.decode()
    assert "Searched for plate 7RFS777" in page
    assert "refused, nothing was searched." in page
