"""Placing, renewing and lifting holds: the rules, the access log, nothing half-stored."""

from __future__ import annotations

import datetime

import pytest
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from captures.holds.models import HeldCapture, HoldRenewal, LegalHold
from captures.holds.selectors import (
    active_hold_count,
    case_capture_ids,
    hold_end_instant,
    one_year_after,
)
from captures.holds.services import HoldRefused, Who, hold_place, hold_release, hold_renew
from captures.retention.selectors import retention_cutoff
from tests.factories import make_capture, make_hold, make_user, search_event
from tests.support import events

pytestmark = pytest.mark.django_db

WHO = Who(username="system:test")
DAY = datetime.timedelta(days=1)


def _place(agency, captures, **overrides):
    fields = {
        "agency": agency,
        "who": WHO,
        "capture_ids": [c.pk for c in captures],
        "case_number": "2026-CR-7",
        "reason": "Evidence for trial",
        "authority": "Court order 26-55",
        "ends_on": datetime.date.today() + DAY * 30,
    }
    fields.update(overrides)
    with schema_context(agency.schema_name):
        return hold_place(**fields)


def _counts(agency) -> tuple[int, int, int]:
    with schema_context(agency.schema_name):
        return (
            LegalHold.objects.count(),
            HeldCapture.objects.count(),
            AccessEvent.objects.filter(action=Action.HOLD_PLACED).count(),
        )


def test_placing_a_hold_stores_it_and_logs_it_with_its_case(agency_a):
    captures = [make_capture(agency_a) for _ in range(2)]
    hold = _place(agency_a, captures)
    assert hold.capture_count == 2
    assert hold.ends_at == hold_end_instant(agency_a, hold.ends_on)
    assert hold.ends_at.astimezone(agency_a.tz).time() == datetime.time(0, 0)
    (entry,) = events(agency_a, action=Action.HOLD_PLACED, details__hold_id=hold.pk)
    assert entry.case_number == "2026-CR-7"
    assert entry.actor_username == "system:test"
    assert entry.details["authority"] == "Court order 26-55"
    assert {"type": "legal_hold", "id": str(hold.pk)} in entry.objects_touched
    assert {o["id"] for o in entry.objects_touched if o["type"] == "capture"} == {
        str(c.pk) for c in captures
    }
    with schema_context(agency_a.schema_name):
        assert active_hold_count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"case_number": "  "}, "case number"),
        ({"reason": ""}, "reason"),
        ({"capture_ids": []}, "at least one capture"),
        ({"ends_on": "yesterday"}, "has passed"),
        ({"ends_on": one_year_after(datetime.date.today()) + DAY}, "at most one year"),
        ({"reason": "a\x00b"}, "NUL"),
        ({"authority": "x" * 301}, "longer than 300"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(agency_a, overrides, message):
    if overrides.get("ends_on") == "yesterday":
        overrides = {"ends_on": datetime.datetime.now(agency_a.tz).date() - DAY}
    capture = make_capture(agency_a)
    before = _counts(agency_a)
    with pytest.raises(HoldRefused, match=message):
        _place(agency_a, [capture], **overrides)
    assert _counts(agency_a) == before


def test_exactly_one_year_is_allowed(agency_a):
    today = datetime.datetime.now(agency_a.tz).date()
    hold = _place(agency_a, [make_capture(agency_a)], ends_on=one_year_after(today))
    assert hold.ends_on == one_year_after(today)


def test_one_year_after_the_29th_of_february():
    assert one_year_after(datetime.date(2028, 2, 29)) == datetime.date(2029, 2, 28)


def test_captures_of_another_agency_or_past_retention_are_refused(agency_a, agency_b):
    own = make_capture(agency_a)
    foreign = make_capture(agency_b)
    expired = make_capture(
        agency_a, captured_at=retention_cutoff(agency_a) - datetime.timedelta(minutes=1)
    )
    before = _counts(agency_a)
    for bad in (foreign, expired):
        with pytest.raises(HoldRefused, match="1 of the captures"):
            _place(agency_a, [own, bad])
    assert _counts(agency_a) == before


def test_renewal_moves_the_end_with_a_reason_and_is_recorded(agency_a):
    hold = make_hold(agency_a, [make_capture(agency_a)], days=10)
    new_end = hold.ends_on + DAY * 100
    with schema_context(agency_a.schema_name):
        renewed = hold_renew(
            agency=agency_a, who=WHO, hold_id=hold.pk, ends_on=new_end, reason="Trial postponed"
        )
        (renewal,) = HoldRenewal.objects.filter(hold=hold)
    assert renewed.ends_on == new_end
    assert renewed.ends_at == hold_end_instant(agency_a, new_end)
    assert (renewal.previous_ends_on, renewal.ends_on) == (hold.ends_on, new_end)
    (entry,) = events(agency_a, action=Action.HOLD_RENEWED, details__hold_id=hold.pk)
    assert entry.purpose_text == "Trial postponed"
    assert entry.details["previous_ends_on"] == hold.ends_on.isoformat()


@pytest.mark.parametrize(
    ("days", "reason", "message"),
    [(-1, "x", "later than"), (400, "x", "at most one year"), (5, " ", "reason")],
)
def test_bad_renewals_are_refused(agency_a, days, reason, message):
    hold = make_hold(agency_a, [make_capture(agency_a)], days=10)
    with schema_context(agency_a.schema_name), pytest.raises(HoldRefused, match=message):
        hold_renew(
            agency=agency_a,
            who=WHO,
            hold_id=hold.pk,
            ends_on=hold.ends_on + DAY * days,
            reason=reason,
        )
    assert events(agency_a, action=Action.HOLD_RENEWED, details__hold_id=hold.pk) == []


def test_a_lifted_or_ended_hold_cannot_be_renewed_or_lifted_again(agency_a, clock, now):
    hold = make_hold(agency_a, [make_capture(agency_a)], days=10)
    with schema_context(agency_a.schema_name):
        hold_release(who=WHO, hold_id=hold.pk, reason="Case closed")
        with pytest.raises(HoldRefused, match="already lifted"):
            hold_release(who=WHO, hold_id=hold.pk, reason="again")
        with pytest.raises(HoldRefused, match="already lifted"):
            hold_renew(
                agency=agency_a, who=WHO, hold_id=hold.pk, ends_on=hold.ends_on + DAY, reason="x"
            )
    ended = make_hold(agency_a, [make_capture(agency_a)], days=1)
    clock.move_to(ended.ends_at + datetime.timedelta(seconds=1))
    with schema_context(agency_a.schema_name), pytest.raises(HoldRefused, match="ended on"):
        hold_release(who=WHO, hold_id=ended.pk, reason="x")
    assert [
        e.details["hold_id"]
        for e in events(
            agency_a, action=Action.HOLD_RELEASED, details__hold_id__in=[hold.pk, ended.pk]
        )
    ] == [hold.pk]


def test_the_captures_of_a_case_come_from_the_access_log(agency_a):
    officer = make_user(agency_a)
    viewed, printed, other = (make_capture(agency_a) for _ in range(3))
    with schema_context(agency_a.schema_name):
        search_event(officer, case_number="C-1")
        for capture, action in ((viewed, Action.CAPTURE_VIEWED), (printed, Action.EXPORT)):
            from audit.services import record_event

            record_event(
                action=action, actor=officer, case_number="C-1", objects=[("capture", capture.pk)]
            )
        record_event(
            action=Action.CAPTURE_VIEWED,
            actor=officer,
            case_number="C-2",
            objects=[("capture", other.pk)],
        )
        assert case_capture_ids(case_number="C-1") == [viewed.pk, printed.pk]
        assert case_capture_ids(case_number="nothing") == []
