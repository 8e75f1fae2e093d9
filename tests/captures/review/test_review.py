"""Image review: confirm, correct, mark unreadable; the queue; acting requires a confirmed read."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from captures.models import Capture, Review
from captures.review.selectors import review_queue
from captures.review.services import ReviewError, review_correct
from tests.factories import make_capture, search_data
from tests.support import events, reloaded

pytestmark = pytest.mark.django_db


def test_queue_is_unconfirmed_reads_lowest_confidence_first(agency_a, reviewing_client_a):
    with schema_context(agency_a.schema_name):
        Capture.objects.update(review_status="confirmed")  # other tests' leftovers aside
    high = make_capture(agency_a, plate="1HIGH11", confidence=0.97)
    low = make_capture(agency_a, plate="1LOW111", confidence=0.31)
    make_capture(agency_a, plate="1DONE11", confidence=0.1, review_status="confirmed")
    with schema_context(agency_a.schema_name):
        assert [c.pk for c in review_queue(agency=agency_a)] == [low.pk, high.pk]
    page = reviewing_client_a.get("/review/").content.decode()
    assert "1LOW111" in page
    assert "1HIGH11" not in page
    assert "2 unconfirmed reads waiting" in page
    assert "js/review.js" in page
    assert "<script>" not in page


def test_confirm_then_next_item_loads(agency_a, officer_a, reviewing_client_a):
    with schema_context(agency_a.schema_name):
        Capture.objects.update(review_status="confirmed")
    first = make_capture(agency_a, plate="2FIRST2", confidence=0.2)
    make_capture(agency_a, plate="2SECND2", confidence=0.5)
    response = reviewing_client_a.post(
        f"/review/{first.pk}/", {"action": "confirm", "version": "0"}, follow=True
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/review/"
    assert "Confirmed 2FIRST2 CA." in page
    assert "2SECND2" in page
    first = reloaded(agency_a, first)
    assert first.review_status == "confirmed"
    assert first.reviewed_by_username == officer_a.username
    assert first.reviewed_at is not None
    (event,) = events(agency_a, actor_id=officer_a.pk, action="review")
    assert event.objects_touched == [{"type": "capture", "id": str(first.pk)}]
    assert event.details["decision"] == "confirm"
    (session,) = events(agency_a, actor_id=officer_a.pk, action="review_session")
    assert event.related_event_id == session.pk


def test_correction_keeps_the_machine_reading(agency_a, officer_a, reviewing_client_a):
    capture = make_capture(agency_a, plate="7A8C123", state="NV", confidence=0.4)
    reviewing_client_a.post(
        f"/review/{capture.pk}/",
        {"action": "correct", "plate": "7abc 123", "state": "ca", "version": "0"},
    )
    capture = reloaded(agency_a, capture)
    assert (capture.plate, capture.state, capture.review_status) == ("7ABC123", "CA", "corrected")
    assert (capture.machine_plate, capture.machine_state) == ("7A8C123", "NV")
    assert capture.match_key == "7A8C123"  # B and 8 fold together
    with schema_context(agency_a.schema_name):
        (review,) = Review.objects.filter(capture_id=capture.pk)
    assert (review.action, review.plate_before, review.plate_after) == (
        "correct",
        "7A8C123",
        "7ABC123",
    )
    assert (review.state_before, review.state_after) == ("NV", "CA")
    (event,) = events(agency_a, actor_id=officer_a.pk, action="review")
    assert event.details["plate_before"] == "7A8C123"
    assert event.details["plate_after"] == "7ABC123"
    from auditlog.models import LogEntry

    with schema_context(agency_a.schema_name):  # django-auditlog's history of the change
        entry = LogEntry.objects.get_for_object(capture).filter(action=LogEntry.Action.UPDATE).get()
        assert entry.changes_dict["plate"] == ["7A8C123", "7ABC123"]
        assert entry.changes_dict["review_status"] == ["unconfirmed", "corrected"]
        assert entry.actor_id == officer_a.pk


def test_bad_correction_changes_nothing(agency_a, officer_a):
    capture = make_capture(agency_a, plate="5BAD555", state="OR")
    with schema_context(agency_a.schema_name):
        with pytest.raises(ReviewError, match="not a US state"):
            review_correct(
                agency=agency_a,
                capture_id=capture.pk,
                user=officer_a,
                version=0,
                plate="5BAD555",
                state="ZZ",
            )
        assert not Review.objects.filter(capture_id=capture.pk).exists()
    assert events(agency_a, actor_id=officer_a.pk, action="review") == []
    assert reloaded(agency_a, capture).review_status == "unconfirmed"


def test_unreadable_leaves_searches_and_queue(agency_a, officer_a, reviewing_client_a):
    capture = make_capture(agency_a, plate="0UNR000")
    reviewing_client_a.post(f"/review/{capture.pk}/", {"action": "unreadable", "version": "0"})
    assert reloaded(agency_a, capture).review_status == "unreadable"
    with schema_context(agency_a.schema_name):
        assert not review_queue(agency=agency_a).filter(pk=capture.pk).exists()


def test_printing_requires_a_confirmed_read(agency_a, officer_a, reviewing_client_a):
    officer_client_a = reviewing_client_a
    capture = make_capture(agency_a, plate="8PRINT8")
    response = officer_client_a.get(f"/captures/{capture.pk}/print/", follow=True)
    page = response.content.decode()
    assert "has not confirmed this read" in page
    assert response.redirect_chain[-1][0] == f"/captures/{capture.pk}/"
    assert (
        officer_client_a.post(f"/captures/{capture.pk}/print/", {"case_number": "26-1"}).status_code
        == 302
    )
    assert events(agency_a, actor_id=officer_a.pk, action="export") == []

    officer_client_a.post(f"/review/{capture.pk}/", {"action": "confirm", "version": "0"})
    form = officer_client_a.get(f"/captures/{capture.pk}/print/")
    assert form.status_code == 200
    assert "case_number" in form.content.decode()
    printed = officer_client_a.post(
        f"/captures/{capture.pk}/print/", {"case_number": "26-1", "destination": "agency"}
    )
    assert "plate read for case 26-1" in printed.content.decode()
    (export,) = events(agency_a, actor_id=officer_a.pk, action="export")
    assert export.case_number == "26-1"
    assert export.objects_touched == [{"type": "capture", "id": str(capture.pk)}]


def test_capture_page_shows_everything_and_review_history(agency_a, officer_a, officer_client_a):
    capture = make_capture(agency_a, plate="6SEE666", confidence=0.83, plate_box=[10, 20, 130, 40])
    other = make_capture(agency_a, plate="6SEE666")
    officer_client_a.post("/search/", search_data(agency_a, plate="6SEE666"), follow=True)
    (search,) = events(agency_a, actor_id=officer_a.pk, action="search")
    url = f"/captures/{capture.pk}/?search={search.pk}"
    page = officer_client_a.get(url).content.decode()
    for text in (
        "6SEE666",
        "83%",
        "x 10, y 20, w 130, h 40",
        "Unconfirmed",
        str(other.pk),
        "No person has reviewed this read yet",
        capture.camera.name,
    ):
        assert text in page, text
    officer_client_a.post(
        f"/review/{capture.pk}/",
        {"action": "correct", "plate": "6SEE686", "version": "0", "search": search.pk},
    )
    page = officer_client_a.get(url).content.decode()
    assert "Corrected" in page
    assert officer_a.username in page
    assert "6SEE686" in page
    assert "Re-review this read" in page


def test_skip_moves_on_and_reset_brings_it_back(agency_a, reviewing_client_a):
    officer_client_a = reviewing_client_a
    with schema_context(agency_a.schema_name):
        Capture.objects.update(review_status="confirmed")
    first = make_capture(agency_a, plate="3SKIP33", confidence=0.1)
    assert "3SKIP33" in officer_client_a.get("/review/").content.decode()
    page = officer_client_a.get(f"/review/?skip={first.pk}", follow=True).content.decode()
    assert "3SKIP33" not in page
    assert "Nothing to review" in page
    assert "3SKIP33" in officer_client_a.get("/review/?reset=1", follow=True).content.decode()
    officer_client_a.get("/review/?skip=not-a-uuid")  # a forged skip is ignored, not a 500
    assert officer_client_a.get("/review/").status_code == 200


def test_nothing_to_confirm_without_a_reading_but_a_person_may_supply_it(agency_a, officer_a):
    from captures.review.services import review_confirm

    capture = make_capture(agency_a, plate="", state="", status="unread", confidence=None)
    with schema_context(agency_a.schema_name):
        with pytest.raises(ReviewError, match="no reading to confirm"):
            review_confirm(agency=agency_a, capture_id=capture.pk, user=officer_a, version=0)
        review_correct(
            agency=agency_a,
            capture_id=capture.pk,
            user=officer_a,
            version=0,
            plate="4ABC555",
            state="CA",
        )
    capture = reloaded(agency_a, capture)
    assert (capture.plate, capture.review_status, capture.machine_plate) == (
        "4ABC555",
        "corrected",
        "",
    )


def test_the_queue_orders_stored_readings_by_calibrated_confidence(
    agency_a, camera_a, reviewing_client_a, settings
):
    """The worker stores the calibrated confidence; the queue puts the doubtful reads first
    and counts those below the review threshold."""
    import datetime

    from captures.reading.calibration import calibrate, load_table
    from captures.reading.result import PlateReading
    from captures.reading.services import capture_store_reading
    from tests.factories import ingest_capture

    table = load_table()
    assert table is not None  # the committed table
    with schema_context(agency_a.schema_name):
        Capture.objects.update(review_status="confirmed")
    raws = {"3RAWHI3": 0.995, "3RAWMD3": 0.9, "3RAWLO3": 0.6}
    stored = {}
    for plate, raw in raws.items():
        capture = ingest_capture(
            agency_a, camera_a, text=plate, age=datetime.timedelta(seconds=5), enqueue=False
        )
        with schema_context(agency_a.schema_name):
            reading = PlateReading(
                plate, calibrate(raw), "CA", 0.9, None, "plate-v2", 10.0, raw_confidence=raw
            )
            stored[plate] = capture_store_reading(capture_id=capture.pk, reading=reading)
    for plate, raw in raws.items():
        assert stored[plate].machine_confidence == calibrate(raw)
    with schema_context(agency_a.schema_name):
        order = [c.plate for c in review_queue(agency=agency_a)]
    assert order == sorted(raws, key=lambda p: calibrate(raws[p]))  # = by raw, as it is monotone
    settings.ALPR_REVIEW_THRESHOLD = (calibrate(0.9) + calibrate(0.995)) / 2
    if calibrate(0.9) < calibrate(0.995):
        page = reviewing_client_a.get("/review/").content.decode()
        assert "2 below the review threshold" in page
        assert 'data-testid="below-threshold"' in page  # the first read shown is doubtful
