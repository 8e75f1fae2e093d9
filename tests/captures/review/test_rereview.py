"""A decided read changes only through an explicit, logged re-review; stale pages are refused."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from captures.models import Review
from tests.factories import make_capture, make_user, search_data
from tests.support import events, reloaded, start_review, verified_client, version_of

pytestmark = pytest.mark.django_db


def _search(client, agency, user, plate: str) -> int:
    client.post("/search/", search_data(agency, plate=plate), follow=True)
    return events(agency, actor_id=user.pk, action="search")[-1].pk


@pytest.fixture
def confirmed(agency_a, officer_a, officer_client_a):
    """A read the officer confirmed through a search; returns (capture, search id, review)."""
    capture = make_capture(agency_a, plate="3RRV333", state="CA", confidence=0.4)
    search = _search(officer_client_a, agency_a, officer_a, "3RRV333")
    officer_client_a.post(
        f"/review/{capture.pk}/", {"action": "confirm", "version": "0", "search": search}
    )
    with schema_context(agency_a.schema_name):
        review = Review.objects.get(capture_id=capture.pk)
    assert reloaded(agency_a, capture).review_status == "confirmed"
    return capture, search, review


def test_page_of_a_read_someone_reviewed_meanwhile_is_refused_409_and_logged(
    agency_a, officer_a, reviewing_client_a
):
    capture = make_capture(agency_a, plate="4STALE4", confidence=0.05)
    shown = reviewing_client_a.get(f"/review/{capture.pk}/").content.decode()
    assert 'name="version" value="0"' in shown
    # A colleague confirms it while the officer is looking at it.
    colleague = make_user(agency_a, username="colleague-stale")
    theirs = verified_client(agency_a, colleague)
    start_review(theirs, agency_a)
    theirs.post(f"/review/{capture.pk}/", {"action": "confirm", "version": "0"})

    response = reviewing_client_a.post(
        f"/review/{capture.pk}/", {"action": "unreadable", "version": "0"}
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "colleague-stale reviewed this read while you were looking at it" in page
    assert "Nothing was changed" in page
    assert reloaded(agency_a, capture).review_status == "confirmed"
    (refused,) = events(agency_a, actor_id=officer_a.pk, action="review")
    assert refused.outcome == "refused"
    assert "while you were looking" in refused.reason
    assert refused.details["version_shown"] == 0
    assert refused.details["version_current"] == int(version_of(agency_a, capture))
    assert refused.objects_touched == [{"type": "capture", "id": str(capture.pk)}]


def test_a_decision_without_the_version_it_was_made_on_is_refused(
    agency_a, officer_a, reviewing_client_a
):
    capture = make_capture(agency_a, plate="4NOVER4")
    response = reviewing_client_a.post(f"/review/{capture.pk}/", {"action": "confirm"})
    assert response.status_code == 409
    assert "did not say which version" in response.content.decode()
    assert reloaded(agency_a, capture).review_status == "unconfirmed"
    (refused,) = events(agency_a, actor_id=officer_a.pk, action="review")
    assert refused.outcome == "refused"


def test_changing_a_decided_read_without_re_review_is_refused(
    agency_a, officer_a, officer_client_a, confirmed
):
    capture, search, review = confirmed
    response = officer_client_a.post(
        f"/review/{capture.pk}/",
        {"action": "correct", "plate": "3RRV338", "version": str(review.pk), "search": search},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "already confirmed by" in page
    assert "re-review it and give the reason" in page
    assert reloaded(agency_a, capture).plate == "3RRV333"
    refused = events(agency_a, actor_id=officer_a.pk, action="review", outcome="refused")
    assert len(refused) == 1
    assert refused[0].related_event_id == search


@pytest.mark.parametrize("reason", ["", "  ", "n/a", "check"])
def test_re_review_needs_a_reason(agency_a, officer_a, officer_client_a, confirmed, reason):
    capture, search, review = confirmed
    response = officer_client_a.post(
        f"/review/{capture.pk}/",
        {
            "action": "correct",
            "plate": "3RRV338",
            "version": str(review.pk),
            "search": search,
            "rereview": "1",
            "reason": reason,
        },
    )
    assert response.status_code == 400
    assert "Say why the earlier decision is wrong" in response.content.decode()
    assert reloaded(agency_a, capture).plate == "3RRV333"
    assert len(events(agency_a, actor_id=officer_a.pk, action="review", outcome="refused")) == 1


def test_re_review_names_the_review_it_replaces(agency_a, officer_a, officer_client_a, confirmed):
    capture, search, review = confirmed
    form = officer_client_a.get(f"/review/{capture.pk}/?next=capture&search={search}")
    page = form.content.decode()
    assert f'name="version" value="{review.pk}"' in page
    assert 'name="rereview" value="1"' in page
    assert "Re-review: save correction" in page
    response = officer_client_a.post(
        f"/review/{capture.pk}/",
        {
            "action": "correct",
            "plate": "3RRV338",
            "version": str(review.pk),
            "search": search,
            "next": "capture",
            "rereview": "1",
            "reason": "The last character is an 8 in the vehicle photo",
        },
        follow=True,
    )
    assert "Re-reviewed: Corrected 3RRV333 CA to 3RRV338 CA." in response.content.decode()
    capture = reloaded(agency_a, capture)
    assert (capture.plate, capture.review_status) == ("3RRV338", "corrected")
    with schema_context(agency_a.schema_name):
        newest = Review.objects.filter(capture_id=capture.pk).order_by("-id").first()
    assert newest.replaces_id == review.pk
    assert newest.reason == "The last character is an 8 in the vehicle photo"
    logged = events(agency_a, actor_id=officer_a.pk, action="review", outcome="allowed")[-1]
    assert logged.details["rereview"] is True
    assert logged.details["replaces_review_id"] == review.pk
    assert logged.details["review_id"] == newest.pk
    assert logged.details["status_before"] == "confirmed"
    assert logged.reason == newest.reason
    assert logged.related_event_id == search
    history = officer_client_a.get(f"/captures/{capture.pk}/?search={search}").content.decode()
    assert f"review #{review.pk}: The last character is an 8" in history
    # The page the re-review was made on is now stale in its turn.
    again = officer_client_a.post(
        f"/review/{capture.pk}/",
        {
            "action": "confirm",
            "version": str(review.pk),
            "search": search,
            "rereview": "1",
            "reason": "Another look at the plate image",
        },
    )
    assert again.status_code == 409


def test_re_review_is_not_part_of_a_review_session(
    agency_a, officer_a, officer_client_a, confirmed
):
    capture, _search_id, review = confirmed
    start_review(officer_client_a, agency_a)
    response = officer_client_a.post(
        f"/review/{capture.pk}/",
        {
            "action": "unreadable",
            "version": str(review.pk),
            "rereview": "1",
            "reason": "The plate is covered by a tow hitch",
        },
    )
    assert response.status_code == 403
    assert "needs a search with a stated purpose" in response.content.decode()
    assert reloaded(agency_a, capture).review_status == "confirmed"
    (refused,) = events(agency_a, actor_id=officer_a.pk, action="review", outcome="refused")
    assert refused.details["rereview"] is True
