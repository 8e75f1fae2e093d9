"""Direct capture pages list no other reads; a saved search shows what it found when it ran."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.services import record_event
from tests.factories import make_capture, search_data
from tests.support import events

pytestmark = pytest.mark.django_db


def test_direct_capture_page_lists_no_other_reads(agency_a, officer_a, officer_client_a):
    capture = make_capture(agency_a, plate="2DIRECT")
    other = make_capture(agency_a, plate="2DIRECT")
    page = officer_client_a.get(f"/captures/{capture.pk}/").content.decode()
    assert "2DIRECT" in page
    assert str(other.pk) not in page
    assert "listed only under a search with a stated purpose" in page
    (view,) = events(agency_a, actor_id=officer_a.pk, action="capture_viewed")
    assert view.details["source"] == "direct"
    assert view.details["other_reads_shown"] == 0
    assert view.related_event_id is None
    assert view.purpose_category == ""

    officer_client_a.post("/search/", search_data(agency_a, plate="2DIRECT"), follow=True)
    (search,) = events(agency_a, actor_id=officer_a.pk, action="search")
    page = officer_client_a.get(f"/captures/{capture.pk}/?search={search.pk}").content.decode()
    assert str(other.pk) in page
    assert "listed only under a search" not in page
    view = events(agency_a, actor_id=officer_a.pk, action="capture_viewed")[-1]
    assert view.details["other_reads_shown"] == 1
    assert view.related_event_id == search.pk


def test_a_range_ending_in_the_future_is_searched_up_to_now_and_the_page_says_so(
    agency_a, officer_a, officer_client_a
):
    make_capture(agency_a, plate="5CAPPED")
    before = timezone.now()
    page = officer_client_a.post("/search/", search_data(agency_a, plate="5CAPPED"), follow=True)
    page = page.content.decode()
    assert "1 read found" in page
    assert 'data-testid="as-of-note"' in page
    assert "ends in the future" in page
    (search,) = events(agency_a, actor_id=officer_a.pk, action="search")
    end = datetime.datetime.fromisoformat(search.query["to"])
    assert before <= end <= search.occurred_at
    assert search.details["end_capped"] is True

    past_end = (timezone.now() - datetime.timedelta(minutes=1)).astimezone(agency_a.tz)
    page = officer_client_a.post(
        "/search/",
        search_data(agency_a, plate="5CAPPED", end=past_end.strftime("%Y-%m-%dT%H:%M")),
        follow=True,
    ).content.decode()
    assert "ends in the future" not in page
    assert 'data-testid="as-of-note"' in page
    assert (
        events(agency_a, actor_id=officer_a.pk, action="search")[-1].details["end_capped"] is False
    )


def test_a_saved_search_never_shows_reads_that_arrived_after_it_ran(
    agency_a, officer_a, officer_client_a
):
    found = make_capture(agency_a, plate="6LATER6")
    officer_client_a.post("/search/", search_data(agency_a, plate="6LATER6"), follow=True)
    (search,) = events(agency_a, actor_id=officer_a.pk, action="search")
    # After the search: a new read, and an old one a camera uploaded late.
    newer = make_capture(agency_a, plate="6LATER6", captured_at=timezone.now())
    late = make_capture(
        agency_a,
        plate="6LATER6",
        captured_at=timezone.now() - datetime.timedelta(hours=2),
        received_at=timezone.now(),
    )
    again = officer_client_a.get(f"/search/?search={search.pk}").content.decode()
    assert "1 read found" in again
    assert str(found.pk) in again
    assert str(newer.pk) not in again
    assert str(late.pk) not in again
    assert "reads that arrived later are not shown" in again
    # A new search does find them.
    fresh = officer_client_a.post("/search/", search_data(agency_a, plate="6LATER6"), follow=True)
    assert "3 reads found" in fresh.content.decode()


def test_an_older_entry_whose_range_ends_later_is_shown_up_to_when_it_ran(
    agency_a, officer_a, officer_client_a
):
    found = make_capture(agency_a, plate="7OLDER7")
    with schema_context(agency_a.schema_name):
        search = record_event(  # as searches were logged before the cap: no "as_of"
            action="search",
            actor=officer_a,
            purpose_category="Stolen vehicle",
            case_number="26-1",
            query={
                "plate": "7OLDER7",
                "from": (timezone.now() - datetime.timedelta(days=1)).isoformat(),
                "to": (timezone.now() + datetime.timedelta(days=1)).isoformat(),
                "include_unconfirmed": True,
            },
            details={"result_count": 1},
        )
    newer = make_capture(agency_a, plate="7OLDER7", captured_at=timezone.now())
    page = officer_client_a.get(f"/search/?search={search.pk}").content.decode()
    assert str(found.pk) in page
    assert str(newer.pk) not in page
    assert "ends in the future" in page


def test_a_range_starting_in_the_future_is_refused(agency_a, officer_a, officer_client_a):
    later = timezone.now().astimezone(agency_a.tz) + datetime.timedelta(hours=1)
    response = officer_client_a.post(
        "/search/",
        search_data(
            agency_a,
            start=later.strftime("%Y-%m-%dT%H:%M"),
            end=(later + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        ),
        follow=True,
    )
    assert "The range starts in the future" in response.content.decode()
    # A mistake in the form, not misconduct: nothing is searched or recorded.
    assert "This search was refused" not in response.content.decode()
    assert events(agency_a, actor_id=officer_a.pk, action="search") == []
