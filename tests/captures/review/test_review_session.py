"""The review queue is plate data: a review session with a stated purpose comes first.

Every item the queue shows is logged with the session's purpose and linked to its entry; the
session is the user's own, lives in the sign-in session and expires.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.services import record_backdated_event, record_event
from captures.models import AuthorizedPurpose, Capture, ProhibitedTerm
from captures.review.selectors import REVIEW_SESSION_KEY, review_session_get
from tests.factories import REVIEW_PURPOSE, make_capture, make_user, purpose_id
from tests.support import events, start_review, verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue_of_one(agency_a):
    with schema_context(agency_a.schema_name):
        Capture.objects.update(review_status="confirmed")  # other tests' leftovers aside
    return make_capture(agency_a, plate="8QUEUE8", confidence=0.15)


def _plant(agency, client, event_id: int) -> None:
    """Put a review-session id into the client's sign-in session (stored in the agency's schema)."""
    with schema_context(agency.schema_name):
        session = client.session
        session[REVIEW_SESSION_KEY] = event_id
        session.save()


def test_every_agency_has_a_review_purpose(agency_a, agency_b):
    for agency in (agency_a, agency_b):
        with schema_context(agency.schema_name):
            purpose = AuthorizedPurpose.objects.get(name=REVIEW_PURPOSE)
            assert purpose.use == AuthorizedPurpose.Use.REVIEW
            assert purpose.active


def test_queue_asks_for_a_purpose_first_and_shows_no_plate(
    agency_a, officer_a, officer_client_a, queue_of_one
):
    response = officer_client_a.get("/review/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Purpose of this review session" in page
    assert REVIEW_PURPOSE in page
    assert "8QUEUE8" not in page
    assert str(queue_of_one.pk) not in page
    assert "Stolen vehicle" not in page  # a search-only purpose is not offered here
    assert events(agency_a, actor_id=officer_a.pk) == []


def test_session_is_logged_and_each_item_viewed_is_linked_to_it(
    agency_a, officer_a, officer_client_a, queue_of_one
):
    # The agency requires case numbers, but not for a review-only purpose.
    assert agency_a.require_case_number
    started = start_review(officer_client_a, agency_a)
    assert started.status_code == 302
    assert started["Location"] == "/review/"
    (session,) = events(agency_a, actor_id=officer_a.pk, action="review_session")
    assert (session.outcome, session.purpose_category) == ("allowed", REVIEW_PURPOSE)

    page = officer_client_a.get("/review/").content.decode()
    assert "8QUEUE8" in page
    assert f"Review session #{session.pk}" in page
    (first_view,) = events(agency_a, actor_id=officer_a.pk, action="capture_viewed")
    assert f"?view={first_view.pk}" in page  # images are served under the page's entry
    officer_client_a.get(f"/review/{queue_of_one.pk}/")
    views = events(agency_a, actor_id=officer_a.pk, action="capture_viewed")
    assert len(views) == 2
    for view in views:
        assert view.related_event_id == session.pk
        assert view.purpose_category == REVIEW_PURPOSE
        assert view.details["source"] == "review"
        assert view.objects_touched == [{"type": "capture", "id": str(queue_of_one.pk)}]
    # Asked once per session: moving on starts no new session.
    officer_client_a.get(f"/review/?skip={queue_of_one.pk}", follow=True)
    assert len(events(agency_a, actor_id=officer_a.pk, action="review_session")) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"purpose": ""}, "Choose the purpose of this review session"),
        ({"purpose_text": "n/a"}, "too vague"),
        ({"purpose": "999999"}, "Select a valid choice"),
    ],
)
def test_refused_purposes_are_logged_and_show_nothing(
    agency_a, officer_a, officer_client_a, queue_of_one, overrides, message
):
    response = start_review(officer_client_a, agency_a, **overrides)
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert "This review session was refused and the refusal was recorded" in page
    (event,) = events(agency_a, actor_id=officer_a.pk, action="review_session")
    assert event.outcome == "refused"
    assert message in event.reason
    # Still no session: the queue asks again.
    assert "8QUEUE8" not in officer_client_a.get("/review/").content.decode()


def test_search_only_purpose_is_refused_for_a_review_session(
    agency_a, officer_a, officer_client_a, queue_of_one
):
    start_review(officer_client_a, agency_a, purpose=purpose_id(agency_a, "Stolen vehicle"))
    (event,) = events(agency_a, actor_id=officer_a.pk, action="review_session")
    assert event.outcome == "refused"
    assert "8QUEUE8" not in officer_client_a.get("/review/").content.decode()


def test_prohibited_term_refuses_the_session_naming_it(agency_a, officer_a, officer_client_a):
    with schema_context(agency_a.schema_name):
        ProhibitedTerm.objects.create(term="immigration", reason="State law SB 54")
    response = start_review(
        officer_client_a, agency_a, purpose_text="Reads near the immigration office"
    )
    assert "prohibits review sessions for “immigration” (State law SB 54)" in (
        response.content.decode()
    )
    (event,) = events(agency_a, actor_id=officer_a.pk, action="review_session")
    assert event.outcome == "refused"
    assert "immigration" in event.reason


def test_case_number_where_the_purpose_is_also_a_search_purpose(
    agency_a, officer_a, officer_client_a
):
    with schema_context(agency_a.schema_name):
        AuthorizedPurpose.objects.filter(name="Criminal investigation").update(use="both")
    crime = purpose_id(agency_a, "Criminal investigation")
    refused = start_review(officer_client_a, agency_a, purpose=crime, purpose_text="Burglary")
    assert "requires a case or incident number" in refused.content.decode()
    allowed = start_review(
        officer_client_a, agency_a, purpose=crime, purpose_text="Burglary", case_number="26-77"
    )
    assert allowed.status_code == 302
    outcomes = [
        (e.outcome, e.case_number)
        for e in events(agency_a, actor_id=officer_a.pk, action="review_session")
    ]
    assert outcomes == [("refused", ""), ("allowed", "26-77")]


def test_item_page_without_a_session_asks_for_the_purpose_then_returns(
    agency_a, officer_a, officer_client_a, queue_of_one
):
    item = f"/review/{queue_of_one.pk}/"
    response = officer_client_a.get(item)
    assert response.status_code == 302
    assert response["Location"] == f"/review/?item={queue_of_one.pk}"
    form = officer_client_a.get(response["Location"]).content.decode()
    assert "8QUEUE8" not in form
    assert f'value="{queue_of_one.pk}"' in form
    # A decision posted without a session changes nothing.
    posted = officer_client_a.post(item, {"action": "confirm", "version": "0"}, follow=True)
    assert "Your review session has ended" in posted.content.decode()
    with schema_context(agency_a.schema_name):
        assert Capture.objects.get(pk=queue_of_one.pk).review_status == "unconfirmed"
    assert events(agency_a, actor_id=officer_a.pk, action="capture_viewed") == []

    started = start_review(officer_client_a, agency_a, item=str(queue_of_one.pk))
    assert started["Location"] == item
    assert "8QUEUE8" in officer_client_a.get(item).content.decode()


def test_session_ends_with_the_sign_in_session_and_is_the_users_own(
    agency_a, officer_a, officer_client_a, queue_of_one
):
    start_review(officer_client_a, agency_a)
    (session,) = events(agency_a, actor_id=officer_a.pk, action="review_session")
    # Signed in again elsewhere: a new sign-in session has no review session.
    other_sign_in = verified_client(agency_a, officer_a)
    assert "8QUEUE8" not in other_sign_in.get("/review/").content.decode()
    # Another user's session id, planted in a session, is not honoured.
    colleague = make_user(agency_a)
    theirs = verified_client(agency_a, colleague)
    _plant(agency_a, theirs, session.pk)
    assert "8QUEUE8" not in theirs.get("/review/").content.decode()
    assert events(agency_a, actor_id=colleague.pk, action="capture_viewed") == []
    # Controls: the sign-in session that started it still has it; a colleague's own works.
    assert "8QUEUE8" in officer_client_a.get("/review/").content.decode()
    with schema_context(agency_a.schema_name):
        own = record_event(action="review_session", actor=colleague, purpose_category="x")
    _plant(agency_a, theirs, own.pk)
    assert "8QUEUE8" in theirs.get("/review/").content.decode()


def test_session_expires_after_its_lifetime(agency_a, officer_a, officer_client_a, queue_of_one):
    with schema_context(agency_a.schema_name):
        old = record_backdated_event(
            occurred_at=timezone.now() - datetime.timedelta(hours=4, minutes=1),
            action="review_session",
            actor=officer_a,
            purpose_category=REVIEW_PURPOSE,
        )
        fresh = record_event(action="review_session", actor=officer_a, purpose_category="x")
        assert review_session_get(user=officer_a, event_id=old.pk) is None
        assert review_session_get(user=officer_a, event_id=fresh.pk) == fresh
        later = timezone.now() + datetime.timedelta(hours=4, seconds=1)
        assert review_session_get(user=officer_a, event_id=fresh.pk, now=later) is None
    _plant(agency_a, officer_client_a, old.pk)
    page = officer_client_a.get("/review/").content.decode()
    assert "Your review session has ended" in page
    assert "8QUEUE8" not in page


def test_session_items_are_reads_waiting_for_review(
    agency_a, officer_a, reviewing_client_a, queue_of_one
):
    done = make_capture(agency_a, plate="8DONE88", review_status="confirmed")
    response = reviewing_client_a.get(f"/review/{done.pk}/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "needs a search with a stated purpose" in page
    assert "8DONE88" not in page
    views = events(agency_a, actor_id=officer_a.pk, action="capture_viewed")
    assert all(v.objects_touched != [{"type": "capture", "id": str(done.pk)}] for v in views)


def test_restart_asks_for_a_new_purpose(agency_a, officer_a, reviewing_client_a, queue_of_one):
    assert "8QUEUE8" in reviewing_client_a.get("/review/").content.decode()
    page = reviewing_client_a.get("/review/?restart=1", follow=True).content.decode()
    assert "Purpose of this review session" in page
    assert "8QUEUE8" not in page


def test_oversized_or_nul_input_is_refused_and_logged_not_a_500(
    agency_a, officer_a, officer_client_a
):
    response = start_review(
        officer_client_a, agency_a, purpose_text="x" * 5000, case_number="26-\x00-1"
    )
    assert response.status_code == 200
    assert "This review session was refused" in response.content.decode()
    (event,) = events(agency_a, actor_id=officer_a.pk, action="review_session")
    assert event.outcome == "refused"
    assert len(event.purpose_text) == 1000
    assert event.case_number == "26--1"
