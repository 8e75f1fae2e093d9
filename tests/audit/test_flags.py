"""Flags: each rule fires on the search events it is meant for, with its reason."""

from __future__ import annotations

import datetime

from django.utils import timezone

from audit.flags import flags_scan, purpose_vagueness
from audit.models import Flag, FlagKind
from tests.audit.helpers import search_event
from tests.factories import make_user


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
        assert "Searched at 03:05" in reason and "10:00" in reason
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
        assert "SHARE77" in reason and "3 different users" in reason
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
