"""Alerts: the page and its poll (no plates), the logged alert view and images, the
confirmation steps (a misread corrected through review), acting on confirmed alerts only,
the auditors' figures, and what the purge keeps."""

from __future__ import annotations

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from captures.hotlists.models import Hit, Hotlist, HotlistEntry, Reason
from captures.hotlists.purge import hotlists_purge
from captures.ingest.services import capture_ingest
from captures.models import Capture
from captures.reading.matching import match_key
from tenants.people.roles import Role
from tests.factories import image_bytes, make_user, unique
from tests.support import events, verified_client


@pytest.fixture
def alert(agency_a, camera_a):
    """A read of the camera that hit an entry with a case: (hit, capture)."""
    plate = "AL" + unique("")[-5:].replace("_", "9")
    with schema_context(agency_a.schema_name):
        hotlist = Hotlist.objects.create(name=unique("Stolen "), owner="DOJ")
        HotlistEntry.objects.create(
            hotlist=hotlist,
            plate=plate,
            match_key=match_key(plate),
            state="CA",
            reason=Reason.STOLEN_VEHICLE,
            reference="V000111",
            notes="grey Civic",
            case_number="2026-CASE-9",
            purpose_category="Stolen vehicle",
        )
        capture = capture_ingest(
            camera=camera_a.camera,
            agency=agency_a,
            plate_image=image_bytes(plate),
            vehicle_image=image_bytes(plate, fmt="JPEG"),
            captured_at=timezone.now() - datetime.timedelta(seconds=3),
            edge_plate=plate,
            edge_state="CA",
            edge_confidence=0.88,
            enqueue=False,
        ).capture
        return Hit.objects.get(capture=capture), capture


def test_the_alert_page_and_poll_list_alerts_without_plates(officer_client_a, alert):
    hit, _ = alert
    page = officer_client_a.get(reverse("captures:alerts"))
    poll = officer_client_a.get(reverse("captures:alerts-poll"))
    data = json.loads(poll.content)
    assert page.status_code == 200
    assert hit.read_plate not in page.content.decode()
    assert hit.read_plate not in poll.content.decode()
    assert (data["new"] >= 1, data["newest_new"] >= hit.pk) == (True, True)
    assert hit.pk in [row["id"] for row in data["alerts"]]


def test_every_page_carries_the_banner_for_officers(officer_client_a, agency_a, client_a):
    response = officer_client_a.get(reverse("captures:search"))
    assert 'id="alert-banner"' in response.content.decode()
    assert "js/alerts.js" in response.content.decode()
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    assert 'id="alert-banner"' not in auditor.get(reverse("audit:events")).content.decode()


def test_viewing_an_alert_is_logged_with_the_entrys_case(agency_a, officer_client_a, alert):
    hit, capture = alert
    response = officer_client_a.get(reverse("captures:alert", kwargs={"hit_id": hit.pk}))
    page = response.content.decode()
    assert response.status_code == 200
    for shown in (hit.read_plate, "V000111", "grey Civic", "Stolen vehicle", hit.camera_name):
        assert shown in page
    assert 'id="map-points"' in page
    event = events(agency_a, action=Action.ALERT_VIEWED)[-1]
    assert (event.case_number, event.purpose_category) == ("2026-CASE-9", "Stolen vehicle")
    assert {"type": "capture", "id": str(capture.pk)} in event.objects_touched


def test_alert_images_are_served_and_logged(agency_a, officer_client_a, alert):
    hit, _ = alert
    for kind in ("plate", "vehicle"):
        url = reverse("captures:alert-image", kwargs={"hit_id": hit.pk, "kind": kind})
        response = officer_client_a.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("image/")
    logged = events(agency_a, action=Action.IMAGE_VIEWED)[-2:]
    assert [(e.details["source"], e.case_number) for e in logged] == [
        ("alert", "2026-CASE-9"),
        ("alert", "2026-CASE-9"),
    ]
    missing = reverse("captures:alert-image", kwargs={"hit_id": hit.pk, "kind": "nope"})
    assert officer_client_a.get(missing).status_code == 404


def decide(client, hit, **data):
    return client.post(reverse("captures:alert-decide", kwargs={"hit_id": hit.pk}), data)


def act(client, hit, **data):
    return client.post(reverse("captures:alert-act", kwargs={"hit_id": hit.pk}), data)


def reloaded_hit(agency, hit):
    with schema_context(agency.schema_name):
        return Hit.objects.get(pk=hit.pk)


def test_only_a_confirmed_alert_can_be_acted_on(agency_a, officer_client_a, alert):
    hit, _ = alert
    act(officer_client_a, hit, outcome="arrest", case_number="2026-77")
    assert reloaded_hit(agency_a, hit).outcome == ""
    assert events(agency_a, action=Action.ALERT_ACTED)[-1].outcome == Outcome.REFUSED
    decide(officer_client_a, hit, decision="confirmed", note="plate and car match")
    act(officer_client_a, hit, outcome="vehicle_recovered", case_number="2026-77")
    stored = reloaded_hit(agency_a, hit)
    assert (stored.status, stored.outcome, stored.case_number) == (
        "confirmed",
        "vehicle_recovered",
        "2026-77",
    )
    logged = events(agency_a, action=Action.ALERT_ACTED)[-1]
    assert (logged.outcome, logged.case_number) == (Outcome.ALLOWED, "2026-77")


def test_an_alert_is_decided_once(agency_a, officer_client_a, alert):
    hit, _ = alert
    decide(officer_client_a, hit, decision="state_mismatch")
    decide(officer_client_a, hit, decision="confirmed")
    assert reloaded_hit(agency_a, hit).status == "state_mismatch"
    assert [e.outcome for e in events(agency_a, action=Action.ALERT_DECIDED)[-2:]] == [
        Outcome.ALLOWED,
        Outcome.REFUSED,
    ]


def test_a_misread_corrects_the_read_through_review(agency_a, officer_client_a, alert):
    hit, capture = alert
    response = decide(officer_client_a, hit, decision="misread", plate="ZZ9 999", state="CA")
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        stored = Capture.objects.get(pk=capture.pk)
    assert (stored.plate, stored.review_status) == ("ZZ9999", "corrected")
    assert reloaded_hit(agency_a, hit).status == "misread"
    assert events(agency_a, action=Action.REVIEW)[-1].details["plate_after"] == "ZZ9999"


def test_a_misread_without_the_plate_is_refused(agency_a, officer_client_a, alert):
    hit, _ = alert
    decide(officer_client_a, hit, decision="misread", plate="")
    assert reloaded_hit(agency_a, hit).status == "new"


def test_bad_input_gets_a_message_not_a_500(officer_client_a, alert):
    hit, _ = alert
    assert decide(officer_client_a, hit, decision="maybe").status_code == 302
    assert act(officer_client_a, hit, outcome="x" * 5000).status_code == 302


def test_another_agency_gets_404_for_the_alert(agency_b, alert):
    hit, _ = alert
    officer_b = verified_client(agency_b, make_user(agency_b, roles=[Role.OFFICER]))
    assert officer_b.get(reverse("captures:alert", kwargs={"hit_id": hit.pk})).status_code == 404


def test_auditors_see_figures_officers_do_not(agency_a, officer_client_a, alert):
    hit, _ = alert
    decide(officer_client_a, hit, decision="confirmed")
    act(officer_client_a, hit, outcome="arrest", case_number="2026-78")
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    page = auditor.get(reverse("captures:hotlist-report")).content.decode()
    assert hit.hotlist_name in page
    assert "Arrest: 1" in page
    assert officer_client_a.get(reverse("captures:hotlist-report")).status_code == 403


def test_the_purge_keeps_only_confirmed_hits_with_a_case(
    agency_a, officer_client_a, alert, camera_a
):
    hit, capture = alert
    decide(officer_client_a, hit, decision="confirmed")
    act(officer_client_a, hit, outcome="stop_made", case_number="2026-79")
    with schema_context(agency_a.schema_name):
        other = Hit.objects.create(
            capture=capture,
            hotlist_name="x",
            rule="exact",
            source="camera",
            read_plate="OTHER1",
            entry_plate="OTHER1",
            reason="bolo",
            captured_at=capture.captured_at,
        )
        Hit.objects.filter(pk__in=[hit.pk, other.pk]).update(capture=None)  # as the purge does
        hotlists_purge()
        left = list(Hit.objects.filter(pk__in=[hit.pk, other.pk]).values_list("pk", flat=True))
    assert left == [hit.pk]


def test_the_purge_removes_expired_entries(agency_a):
    with schema_context(agency_a.schema_name):
        hotlist = Hotlist.objects.create(name=unique("P "), owner="x")
        HotlistEntry.objects.create(
            hotlist=hotlist,
            plate="OLD1",
            match_key="01D1",
            reason="bolo",
            expires_at=timezone.now() - datetime.timedelta(minutes=1),
        )
        result = hotlists_purge()
        assert not HotlistEntry.objects.filter(hotlist=hotlist).exists()
    assert result.entries_removed >= 1
    assert events(agency_a, action=Action.HOTLIST_PURGE)[-1].details["what"] == "hotlists"


def test_reads_are_counted_per_day_before_the_purge_and_reported_per_month(agency_a):
    from captures.alerts.selectors import reads_per_month
    from captures.hotlists.models import ReadTally
    from captures.hotlists.purge import reads_tally
    from tests.factories import make_capture

    now = timezone.now()
    earlier = now - datetime.timedelta(days=2)
    with schema_context(agency_a.schema_name):
        before = reads_per_month(agency_a)
    make_capture(agency_a, captured_at=earlier)
    make_capture(agency_a, captured_at=earlier, plate="", state="")  # no plate: not a read
    with schema_context(agency_a.schema_name):
        during = reads_per_month(agency_a)
        reads_tally(now=now)
        reads_tally(now=now)  # again: nothing counted twice
        day = ReadTally.objects.get(day=earlier.astimezone(datetime.UTC).date())
        after = reads_per_month(agency_a)
    month = earlier.astimezone(datetime.UTC).date().replace(day=1)
    assert during.get(month, 0) == before.get(month, 0) + 1
    assert day.reads >= 1
    assert after.get(month, 0) == during.get(month, 0)


def _copies(agency, hit, count, **fields):
    """More hits like ``hit`` (same capture, no entry: the unique constraint is per entry)."""
    with schema_context(agency.schema_name):
        model = Hit.objects.get(pk=hit.pk)
        made = []
        for _ in range(count):
            model.pk = None
            model.entry = None
            for name, value in fields.items():
                setattr(model, name, value)
            model.save()
            made.append(model.pk)
        return made


def _ids(rows):
    return [row["id"] for row in rows]


def test_open_alerts_stay_live_and_decided_ones_move_to_the_paged_history(
    agency_a, officer_client_a, alert, monkeypatch
):
    from captures.alerts import selectors

    hit, _ = alert
    poll = reverse("captures:alerts-poll")
    open_before = json.loads(officer_client_a.get(poll).content)["open"]  # ours is among them
    misread_before = officer_client_a.get(reverse("captures:alerts"), {"status": "misread"})
    decide(officer_client_a, hit, decision="confirmed", note="plate and car match")
    confirmed = [hit.pk]  # confirmed with no outcome yet: still open
    misread = _copies(agency_a, hit, 3, status=Hit.Status.MISREAD, outcome="")
    acted = _copies(agency_a, hit, 1, status=Hit.Status.CONFIRMED, outcome="no_action")
    new = _copies(agency_a, hit, 2, status=Hit.Status.NEW, outcome="")
    monkeypatch.setattr(selectors, "POLL_ROWS", 2)
    monkeypatch.setattr(selectors, "HISTORY_PAGE", 2)

    data = json.loads(officer_client_a.get(poll).content)
    assert _ids(data["alerts"]) == sorted(new, reverse=True)  # the newest open ones
    # The confirmed one is still open (no outcome) and counted, not silently dropped.
    assert (data["open"], data["more"]) == (open_before + 2, open_before + 2 - 2)

    page = officer_client_a.get(reverse("captures:alerts"))
    history = page.context["history_rows"]
    assert _ids(history) == sorted(acted + misread, reverse=True)[:2]
    assert page.context["history"].paginator.num_pages == 2
    assert 'href="?status=&amp;page=2#decided-alerts">Next<' in page.content.decode()
    assert 'data-testid="alerts-more"' in page.content.decode()
    assert set(confirmed).isdisjoint(_ids(history))

    second = officer_client_a.get(reverse("captures:alerts"), {"page": 2})
    assert _ids(second.context["history_rows"]) == sorted(acted + misread, reverse=True)[2:]
    only_misread = officer_client_a.get(reverse("captures:alerts"), {"status": "misread"})
    assert 'href="?status=misread&amp;page=2#decided-alerts">Next<' in only_misread.content.decode()
    before = misread_before.context["history"].paginator.count
    assert only_misread.context["history"].paginator.count == before + 3
    assert hit.read_plate not in page.content.decode() + second.content.decode()


def test_an_unknown_decision_filter_or_page_shows_the_history_not_an_error(officer_client_a, alert):
    for query in ({"status": "nonsense"}, {"page": "x"}, {"page": "999"}):
        response = officer_client_a.get(reverse("captures:alerts"), query)
        assert response.status_code == 200
        assert response.context["status"] == ""


def test_a_read_below_the_review_threshold_is_flagged_on_the_alert_page(
    agency_a, officer_client_a, alert, settings
):
    """The alert page judges the read by its calibrated confidence against the threshold."""
    hit, _capture = alert
    url = reverse("captures:alert", kwargs={"hit_id": hit.pk})
    settings.ALPR_REVIEW_THRESHOLD = 0.95
    with schema_context(agency_a.schema_name):
        Hit.objects.filter(pk=hit.pk).update(read_confidence=0.90)
    page = officer_client_a.get(url).content.decode()
    assert 'data-testid="doubtful-read"' in page
    assert "below the review threshold (95" in page
    with schema_context(agency_a.schema_name):
        Hit.objects.filter(pk=hit.pk).update(read_confidence=0.96)
    assert 'data-testid="doubtful-read"' not in officer_client_a.get(url).content.decode()
