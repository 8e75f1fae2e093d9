"""Search -> open a result -> review it: the access log holds exactly these entries, linked."""

from __future__ import annotations

import pytest

from tests.factories import make_capture, search_data
from tests.support import events

pytestmark = pytest.mark.django_db


def test_search_open_review_flow_is_logged_exactly(agency_a, officer_a, officer_client_a):
    capture = make_capture(agency_a, plate="5FLOW55", state="WA", confidence=0.55)
    other = make_capture(agency_a, plate="5FLOW55", state="WA")
    data = search_data(agency_a, plate="5FLOW55", state="WA")
    assert "2 reads found" in officer_client_a.post("/search/", data, follow=True).content.decode()
    search, results = events(agency_a, actor_id=officer_a.pk)
    assert results.action == "results_viewed"  # the results page: its reads and thumbnails
    assert results.related_event_id == search.pk
    assert {r["plate"] for r in results.details["reads"]} == {"5FLOW55"}
    assert len(results.details["reads"]) == 2

    page = officer_client_a.get(f"/captures/{capture.pk}/?search={search.pk}").content.decode()
    assert str(other.pk) in page
    assert f"/review/{capture.pk}/?next=capture&amp;search={search.pk}" in page
    officer_client_a.get(f"/review/{capture.pk}/?next=capture&search={search.pk}")
    officer_client_a.post(
        f"/review/{capture.pk}/",
        {
            "action": "confirm",
            "version": "0",
            "search": search.pk,
            "next": "capture",
        },
    )

    logged = events(agency_a, actor_id=officer_a.pk)
    assert [(e.action, e.outcome) for e in logged] == [
        ("search", "allowed"),
        ("results_viewed", "allowed"),
        ("capture_viewed", "allowed"),
        ("capture_viewed", "allowed"),
        ("review", "allowed"),
    ]
    search_event, _, page_view, review_view, review = logged
    assert search_event.query["plate"] == "5FLOW55"
    assert search_event.query["state"] == "WA"
    assert search_event.details["result_count"] == 2
    for event in (page_view, review_view, review):
        assert event.related_event_id == search.pk
        assert event.objects_touched[0] == {"type": "capture", "id": str(capture.pk)}
        assert event.actor_username == officer_a.username
    # The capture page also showed the other read of the plate: it is listed too.
    assert page_view.objects_touched[1:] == [{"type": "capture", "id": str(other.pk)}]
    assert [r["capture"] for r in page_view.details["reads"]] == [str(capture.pk), str(other.pk)]
    assert review_view.objects_touched == [{"type": "capture", "id": str(capture.pk)}]
    for event in (page_view, review_view):  # a view carries the purpose and query of its search
        assert event.purpose_category == "Stolen vehicle"
        assert event.case_number == "2026-004512"
        assert event.purpose_text == data["purpose_text"]
        assert event.query == search_event.query
    assert page_view.details["source"] == "search"
    assert review_view.details["source"] == "review"
    assert review.details["decision"] == "confirm"
    assert all(e.occurred_at.tzinfo is not None for e in logged)
