"""Flags: each rule fires on the search events it is meant for, with its reason."""

from __future__ import annotations

import datetime

from django.utils import timezone

from audit.flags import flags_scan, purpose_vagueness
from audit.models import AccessEvent, Action, Flag, FlagKind
from tests.factories import make_user, search_event


def _kinds(event) -> dict[str, str]:
    return dict(Flag.objects.filter(event=event).values_list("kind", "reason"))


def test_a_specific_search_gets_no_flag(agency_a, in_agency):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        event = search_event(officer, plate="CLEAN01")
        flags_scan(agency=agency_a)
        assert _kinds(event) == {}


def test_no_case_number_vague_purpose_and_refused(agency_a, in_agency):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        no_case = search_event(officer, case_number="", plate="NC1")
        vague = search_event(officer, purpose_category="", purpose_text="check", plate="V1")
        free = search_event(
            officer, purpose_category="other", purpose_text="Looking into something", plate="V2"
        )
        refused = search_event(
            officer, outcome="refused", reason="No case number given.", plate="R1"
        )
        flags_scan(agency=agency_a)
        assert _kinds(no_case) == {FlagKind.NO_CASE_NUMBER: "The search names no case number."}
        assert "Free-text-only purpose" in _kinds(vague)[FlagKind.VAGUE_PURPOSE]
        assert FlagKind.VAGUE_PURPOSE in _kinds(free)
        assert _kinds(refused) == {
            FlagKind.REFUSED: "The search was refused: No case number given."
        }


def test_purpose_vagueness_rules():
    assert purpose_vagueness("stolen_vehicle", "Owner reported theft, case 24-1") is None
    assert purpose_vagueness("", "") == "No purpose category and no purpose text."
    assert purpose_vagueness("stolen_vehicle", "investigation")
    assert purpose_vagueness("other", "Suspect vehicle in the burglary at 5th and Main")


def test_search_outside_the_users_usual_hours(agency_a, in_agency):
    officer = make_user(agency_a)
    tz = agency_a.tz
    today = timezone.now().astimezone(tz).date()
    with in_agency(agency_a):
        for day in range(1, 26):
            at = datetime.datetime.combine(
                today - datetime.timedelta(days=day + 1), datetime.time(10, 15), tzinfo=tz
            )
            search_event(officer, plate=f"H{day}", at=at)
        night = search_event(
            officer,
            plate="NIGHT1",
            at=datetime.datetime.combine(
                today - datetime.timedelta(days=1), datetime.time(3, 5), tzinfo=tz
            ),
        )
        usual = search_event(
            officer,
            plate="DAY1",
            at=datetime.datetime.combine(
                today - datetime.timedelta(days=1), datetime.time(10, 40), tzinfo=tz
            ),
        )
        flags_scan(agency=agency_a)
        reason = _kinds(night)[FlagKind.UNUSUAL_HOURS]
        assert "Searched at 03:05" in reason
        assert "10:00" in reason
        assert FlagKind.UNUSUAL_HOURS not in _kinds(usual)


def test_volume_far_above_norm_flags_the_search_that_crossed_the_line(agency_a, in_agency):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        events = [search_event(officer, plate=f"VOL{i}") for i in range(70)]
        flags_scan(agency=agency_a)
        flagged = Flag.objects.filter(event__in=events, kind=FlagKind.HIGH_VOLUME)
        assert flagged.count() == 1
        assert "searches on" in flagged.get().reason
        # The first searches of the day are not flagged for volume.
        assert not Flag.objects.filter(event=events[0], kind=FlagKind.HIGH_VOLUME).exists()


def test_same_plate_searched_by_many_users(agency_a, in_agency):
    users = [make_user(agency_a, username=f"plate-user-{i}") for i in range(3)]
    with in_agency(agency_a):
        first = search_event(users[0], plate="SHARE77")
        search_event(users[0], plate="SHARE77")
        second = search_event(users[1], plate="SHARE77")
        third = search_event(users[2], plate="SHARE77")
        flags_scan(agency=agency_a)
        assert FlagKind.SHARED_PLATE not in _kinds(first)
        assert FlagKind.SHARED_PLATE not in _kinds(second)
        reason = _kinds(third)[FlagKind.SHARED_PLATE]
        assert "SHARE77" in reason
        assert "3 different users" in reason
        assert "plate-user-0" in reason


def test_search_by_a_user_whose_training_lapsed(agency_a, in_agency):
    untrained = make_user(agency_a, trained=False)
    trained = make_user(agency_a)
    with in_agency(agency_a):
        lapsed = search_event(untrained, plate="TR1")
        fine = search_event(trained, plate="TR2")
        flags_scan(agency=agency_a)
        assert "training was not current" in _kinds(lapsed)[FlagKind.TRAINING_LAPSED]
        assert FlagKind.TRAINING_LAPSED not in _kinds(fine)


def test_scanning_is_incremental_and_idempotent(agency_a, in_agency):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        event = search_event(officer, case_number="")
        flags_scan(agency=agency_a)
        assert flags_scan(agency=agency_a) == 0
        assert Flag.objects.filter(event=event).count() == 1


# --- views without a purpose, review sessions -------------------------------------------


def _view(user, action: str, capture_id: str, *, related=None, source="direct", **details):
    from audit.services import record_event

    return record_event(
        action=action,
        actor=user,
        objects=[("capture", capture_id)],
        related_event_id=related.pk if related is not None else None,
        details={"source": source, **details},
    )


def test_capture_pages_opened_without_a_purpose_are_flagged(agency_a, in_agency):
    from tests.factories import make_capture
    from tests.support import verified_client

    officer = make_user(agency_a)
    client = verified_client(agency_a, officer)
    direct = make_capture(agency_a, plate="9DIRECT")
    client.get(f"/captures/{direct.pk}/")
    with in_agency(agency_a):
        search = search_event(officer, plate="9DIRECT")
    client.get(f"/captures/{direct.pk}/?search={search.pk}")
    with in_agency(agency_a):
        flags_scan(agency=agency_a)
        direct_view, searched_view = AccessEvent.objects.filter(
            action="capture_viewed", actor_id=officer.pk
        ).order_by("id")
        reason = _kinds(direct_view)[FlagKind.DIRECT_VIEW]
        assert "without a search or review session" in reason
        assert "9DIRECT" in reason
        assert _kinds(searched_view) == {}


def test_images_fetched_on_their_own_are_flagged(agency_a, in_agency):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        search = search_event(officer, plate="IMG1")
        alone = _view(officer, "image_viewed", "c-alone", image="plate")
        page = _view(officer, "capture_viewed", "c-page", plate="IMG2")
        with_page = _view(officer, "image_viewed", "c-page", image="plate")
        searched = _view(officer, "image_viewed", "c-s", related=search, source="search")
        flags_scan(agency=agency_a)
        assert "fetched the plate image of read c-alone" in _kinds(alone)[FlagKind.DIRECT_VIEW]
        assert FlagKind.DIRECT_VIEW in _kinds(page)  # the page itself had no purpose
        assert _kinds(with_page) == {}
        assert _kinds(searched) == {}


def _review_session(user, *, at=None):
    from audit.services import record_backdated_event, record_event

    fields = {"action": Action.REVIEW_SESSION, "actor": user, "purpose_category": "QA"}
    if at is None:
        return record_event(**fields)
    return record_backdated_event(occurred_at=at, **fields)


def _review_views(user, session, count: int, *, at=None) -> None:
    from audit.services import record_backdated_event, record_event

    for n in range(count):
        fields = {
            "action": Action.CAPTURE_VIEWED,
            "actor": user,
            "objects": [("capture", f"r{n}")],
            "related_event_id": session.pk,
            "details": {"source": "review"},
        }
        if at is None:
            record_event(**fields)
        else:
            record_backdated_event(occurred_at=at, **fields)


def test_review_session_of_unusual_volume_is_flagged_once(agency_a, in_agency, monkeypatch):
    from audit import flags

    monkeypatch.setattr(flags, "REVIEW_VOLUME_MIN", 10)
    officer = make_user(agency_a)
    with in_agency(agency_a):
        usual = _review_session(officer)
        _review_views(officer, usual, 10)
        big = _review_session(officer)
        _review_views(officer, big, 14)
        flags_scan(agency=agency_a)
        assert _kinds(usual) == {}
        (flag,) = Flag.objects.filter(kind=FlagKind.REVIEW_VOLUME)
        assert flag.event_id == big.pk
        assert flag.actor_id == officer.pk
        assert f"more than 10 reads in review session #{big.pk}" in flag.reason
        assert "minimum of 10" in flag.reason


def test_review_volume_is_relative_to_the_users_usual_sessions(agency_a, in_agency, monkeypatch):
    from audit import flags

    monkeypatch.setattr(flags, "REVIEW_VOLUME_MIN", 10)
    officer = make_user(agency_a)
    past = timezone.now() - datetime.timedelta(days=3)
    with in_agency(agency_a):
        for _ in range(5):  # five earlier sessions of 8 reads: the limit is 3 x 8 = 24
            session = _review_session(officer, at=past)
            _review_views(officer, session, 8, at=past)
        ordinary = _review_session(officer)
        _review_views(officer, ordinary, 20)
        busy = _review_session(officer)
        _review_views(officer, busy, 25)
        flags_scan(agency=agency_a)
        assert FlagKind.REVIEW_VOLUME not in _kinds(ordinary)
        reason = _kinds(busy)[FlagKind.REVIEW_VOLUME]
        assert "more than 24 reads" in reason
        assert "their own average of 8.0" in reason


def test_refused_review_sessions_are_flagged(agency_a, in_agency):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        from audit.services import record_event

        refused = record_event(
            action=Action.REVIEW_SESSION,
            actor=officer,
            outcome="refused",
            reason="Choose the purpose of this review session from your agency's list.",
        )
        flags_scan(agency=agency_a)
        assert "The review session was refused" in _kinds(refused)[FlagKind.REFUSED]


def test_new_flags_show_on_the_auditor_flags_page(agency_a, in_agency):
    from tenants.people.roles import Role
    from tests.support import verified_client

    officer = make_user(agency_a, username="direct-viewer")
    with in_agency(agency_a):
        _view(officer, "capture_viewed", "c-on-page", plate="4PAGE44")
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    auditor.post("/audit/flags/refresh/")
    page = auditor.get("/audit/flags/?kind=direct_view").content.decode()
    assert "Viewed without a purpose" in page
    assert "direct-viewer" in page
    assert "read c-on-page (plate 4PAGE44) without a search or review session" in page
