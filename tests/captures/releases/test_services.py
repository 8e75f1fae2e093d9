"""The disclosure workflow's services: prepare, the two-person rule, refusals, the
public-agencies rule, and every step in the access log (in the transaction of the change)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from captures.releases.models import Disclosure
from captures.releases.services import (
    PUBLIC_ONLY_REFUSAL,
    DisclosureError,
    disclosure_decide,
    disclosure_prepare,
)
from tenants.models import Agency
from tests.factories import disclosure_data, make_capture, make_confirmed_capture
from tests.support import events


@pytest.fixture
def prepared(agency_a, officer_a, as_user):
    captures = [make_confirmed_capture(agency_a) for _ in range(2)]
    with schema_context(agency_a.schema_name):
        disclosure = disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[c.pk for c in captures],
        )
    return disclosure, captures


def test_preparing_records_the_disclosure_and_its_entry(agency_a, officer_a, prepared):
    disclosure, captures = prepared
    assert disclosure.status == Disclosure.Status.PREPARED
    assert disclosure.capture_count == 2
    assert set(disclosure.capture_ids) == {c.pk for c in captures}
    assert disclosure.prepared_by_id == officer_a.pk
    (entry,) = events(agency_a, action=Action.DISCLOSURE_PREPARED, actor_id=officer_a.pk)
    assert entry.actor_id == officer_a.pk
    assert entry.case_number == "26-CR-0042"
    assert entry.purpose_category == "Court order"
    assert {"type": "disclosure", "id": str(disclosure.pk)} in entry.objects_touched
    assert {"type": "capture", "id": str(captures[0].pk)} in entry.objects_touched
    assert entry.details["recipient_is_public_agency"] is True
    assert captures[0].plate not in str(entry.details)  # the register's entries name no plate


def test_unconfirmed_reads_are_not_released(agency_a, officer_a, as_user):
    unconfirmed = make_capture(agency_a)
    with schema_context(agency_a.schema_name), pytest.raises(DisclosureError, match="confirmed"):
        disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[unconfirmed.pk],
        )
    with schema_context(agency_a.schema_name):
        assert not Disclosure.objects.filter(prepared_by_id=officer_a.pk).exists()
    assert events(agency_a, action=Action.DISCLOSURE_PREPARED, actor_id=officer_a.pk) == []


def test_another_administrator_approves(agency_a, admin_a, prepared, as_user):
    disclosure, _ = prepared
    with schema_context(agency_a.schema_name):
        decided = disclosure_decide(
            request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
        )
    assert decided.status == Disclosure.Status.APPROVED
    assert decided.decided_by_id == admin_a.pk
    assert decided.decided_at is not None
    (entry,) = events(agency_a, action=Action.DISCLOSURE_APPROVED, actor_id=admin_a.pk)
    assert (entry.actor_id, entry.outcome) == (admin_a.pk, Outcome.ALLOWED)
    assert entry.details["prepared_by"] == disclosure.prepared_by_username


def test_the_preparer_cannot_approve_their_own_release(agency_a, admin_a, as_user):
    capture = make_confirmed_capture(agency_a)
    with schema_context(agency_a.schema_name):
        disclosure = disclosure_prepare(
            request=as_user(admin_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[capture.pk],
        )
        with pytest.raises(DisclosureError, match="different Administrator"):
            disclosure_decide(
                request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
            )
        disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PREPARED
    (refused,) = events(agency_a, action=Action.DISCLOSURE_APPROVED, actor_id=admin_a.pk)
    assert refused.outcome == Outcome.REFUSED
    assert "different Administrator" in refused.reason


def test_the_database_refuses_a_self_decided_disclosure(agency_a, prepared):
    disclosure, _ = prepared
    with schema_context(agency_a.schema_name), pytest.raises(IntegrityError), transaction.atomic():
        Disclosure.objects.filter(pk=disclosure.pk).update(
            status="approved",
            decided_by_id=disclosure.prepared_by_id,
            decided_at=disclosure.prepared_at,
        )


def test_an_officer_cannot_decide(agency_a, prepared, as_user):
    disclosure, _ = prepared
    from tenants.people.roles import Role
    from tests.factories import make_user

    other_officer = make_user(agency_a, roles=[Role.OFFICER])
    with (
        schema_context(agency_a.schema_name),
        pytest.raises(DisclosureError, match="Administrator"),
    ):
        disclosure_decide(
            request=as_user(other_officer),
            agency=agency_a,
            disclosure_id=disclosure.pk,
            approve=True,
        )


def test_a_refusal_needs_a_reason_and_is_recorded(agency_a, admin_a, prepared, as_user):
    disclosure, _ = prepared
    with schema_context(agency_a.schema_name):
        with pytest.raises(DisclosureError, match="why"):
            disclosure_decide(
                request=as_user(admin_a),
                agency=agency_a,
                disclosure_id=disclosure.pk,
                approve=False,
                reason="  ",
            )
        refused = disclosure_decide(
            request=as_user(admin_a),
            agency=agency_a,
            disclosure_id=disclosure.pk,
            approve=False,
            reason="The order names another vehicle.",
        )
        assert refused.status == Disclosure.Status.REFUSED
        assert refused.refusal_reason == "The order names another vehicle."
        with pytest.raises(DisclosureError, match="already refused"):
            disclosure_decide(
                request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
            )
    allowed = [
        e
        for e in events(agency_a, action=Action.DISCLOSURE_REFUSED, actor_id=admin_a.pk)
        if e.outcome == "allowed"
    ]
    assert [e.reason for e in allowed] == ["The order names another vehicle."]


def test_public_agencies_only_refuses_other_recipients(agency_a, officer_a, as_user):
    capture = make_confirmed_capture(agency_a)
    Agency.objects.filter(pk=agency_a.pk).update(disclose_only_to_public_agencies=True)
    agency_a.refresh_from_db()
    with schema_context(agency_a.schema_name):
        with pytest.raises(DisclosureError) as refused:
            disclosure_prepare(
                request=as_user(officer_a),
                agency=agency_a,
                data=disclosure_data(
                    recipient_is_public_agency=False, recipient_organisation="Repo Co"
                ),
                capture_ids=[capture.pk],
            )
        assert str(refused.value) == PUBLIC_ONLY_REFUSAL
        assert not Disclosure.objects.filter(prepared_by_id=officer_a.pk).exists()
        allowed = disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[capture.pk],
        )
    assert allowed.recipient_is_public_agency
    outcomes = [
        e.outcome
        for e in events(agency_a, action=Action.DISCLOSURE_PREPARED, actor_id=officer_a.pk)
    ]
    assert sorted(outcomes) == ["allowed", "refused"]


def test_the_rule_is_checked_again_at_approval(agency_a, officer_a, admin_a, as_user):
    capture = make_confirmed_capture(agency_a)
    with schema_context(agency_a.schema_name):
        disclosure = disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(recipient_is_public_agency=False),
            capture_ids=[capture.pk],
        )
    Agency.objects.filter(pk=agency_a.pk).update(disclose_only_to_public_agencies=True)
    agency_a.refresh_from_db()
    with schema_context(agency_a.schema_name):
        with pytest.raises(DisclosureError, match="only to public agencies"):
            disclosure_decide(
                request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
            )
        disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PREPARED


@pytest.mark.parametrize(
    ("overrides", "ids", "message"),
    [
        ({}, [], "at least one capture"),
        ({"medium": "print"}, None, "exactly one"),
        ({"legal_basis": "curiosity"}, None, "legal basis"),
        ({"fields_released": []}, None, "what is released"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    agency_a, officer_a, as_user, overrides, ids, message
):
    captures = [make_confirmed_capture(agency_a) for _ in range(2)]
    chosen = [c.pk for c in captures] if ids is None else ids
    with schema_context(agency_a.schema_name), pytest.raises(DisclosureError, match=message):
        disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(**overrides),
            capture_ids=chosen,
        )
    with schema_context(agency_a.schema_name):
        assert not Disclosure.objects.filter(prepared_by_id=officer_a.pk).exists()


def test_the_public_agencies_setting_is_changed_and_logged_like_every_setting(agency_a, admin_a):
    from tenants.services import agency_settings_update

    with schema_context(agency_a.schema_name):
        changed = agency_settings_update(
            agency=agency_a, changes={"disclose_only_to_public_agencies": True}, actor=admin_a
        )
    assert changed == ["disclose_only_to_public_agencies"]
    assert Agency.objects.get(pk=agency_a.pk).disclose_only_to_public_agencies
    (entry,) = events(agency_a, action=Action.SETTINGS_CHANGED, actor_id=admin_a.pk)
    assert "disclose_only_to_public_agencies" in entry.details["changes"]
