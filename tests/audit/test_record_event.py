"""record_event: one entry per action, every field filled, in the caller's transaction."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import RequestFactory

from audit.models import AccessEvent, Action, Outcome
from audit.services import record_event
from tests.factories import make_user

FIELDS = [f.name for f in AccessEvent._meta.get_fields() if f.concrete]


@pytest.mark.parametrize("action", list(Action))
def test_each_action_produces_exactly_one_entry_with_every_field_filled(
    agency_a, in_agency, action
):
    user = make_user(agency_a, username=f"actor-{action.value}")
    request = RequestFactory().get(
        "/",
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="Mozilla/5.0 test",
        HTTP_HOST="alpha.localhost",
    )
    request.user = user
    with in_agency(agency_a):
        before = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        event = record_event(
            action=action,
            request=request,
            outcome=Outcome.ALLOWED,
            reason="Because the policy says so.",
            purpose_category="stolen_vehicle",
            purpose_text="Stolen vehicle report from the owner",
            case_number="24-000777",
            query={"plate": "ABC1234", "state": "CA", "cameras": [1]},
            objects=[("capture", "5b9e0a4c-1111-4222-8333-944455556666")],
            related_event_id=before or 1,
            details={"result_count": 2},
        )
        new = list(AccessEvent.objects.filter(id__gt=before))
        assert [e.id for e in new] == [event.id]
        stored = AccessEvent.objects.values().get(id=event.id)
    for name in FIELDS:
        assert stored[name] not in (None, "", [], {}), name
    assert stored["actor_id"] == user.id
    assert stored["actor_username"] == user.username
    assert stored["action"] == action.value
    assert stored["client_ip"] == "203.0.113.7"
    assert stored["user_agent"] == "Mozilla/5.0 test"
    assert stored["occurred_at"].microsecond == event.occurred_at.microsecond


def test_a_failed_login_records_the_username_tried(agency_a, in_agency):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="::ffff:198.51.100.9")
    with in_agency(agency_a):
        event = record_event(
            action=Action.LOGIN_FAILED,
            request=request,
            username="nobody-such",
            outcome=Outcome.FAILED,
            reason="Wrong password.",
        )
        event.refresh_from_db()
        from audit.chain import verify_chain

        assert verify_chain().ok
    assert event.actor_id is None
    assert event.actor_username == "nobody-such"


def test_an_entry_rolls_back_with_the_thing_it_records(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        before = AccessEvent.objects.count()
        head = AccessEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first()

        def failing_search() -> None:
            with transaction.atomic():
                record_event(action=Action.SEARCH, actor=user)
                raise RuntimeError("the search failed")

        with pytest.raises(RuntimeError, match="the search failed"):
            failing_search()
        assert AccessEvent.objects.count() == before
        follow = record_event(action=Action.LOGOUT, actor=user)
        from audit.chain import verify_chain

        assert verify_chain().ok
        assert follow.prev_hash == (head or "0" * 64)


def test_a_bad_remote_address_is_not_a_crash(agency_a, in_agency):
    request = RequestFactory().get("/", REMOTE_ADDR="not-an-ip")
    with in_agency(agency_a):
        event = record_event(action=Action.LOGIN_FAILED, request=request, username="x")
    assert event.client_ip is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "loign"}, "'loign' is not an access-log action"),
        ({"action": Action.LOGIN, "outcome": "denied"}, "'denied' is not an access-log outcome"),
    ],
)
def test_a_name_outside_the_vocabulary_is_refused_and_nothing_is_written(
    agency_a, in_agency, fields, message
):
    with in_agency(agency_a):
        before = AccessEvent.objects.count()
        with pytest.raises(ValueError, match=message):
            record_event(username="x", **fields)
        assert AccessEvent.objects.count() == before


def test_the_vocabulary_members_name_themselves_in_the_log(agency_a, in_agency):
    """A member and its value are the same entry (callers outside typed code pass values)."""
    with in_agency(agency_a):
        by_member = record_event(action=Action.LOCKOUT, outcome=Outcome.REFUSED, username="x")
        by_value = record_event(action="lockout", outcome="refused", username="x")
    assert (by_member.action, by_member.outcome) == (by_value.action, by_value.outcome)
    assert (by_member.action, by_member.outcome) == ("lockout", "refused")
