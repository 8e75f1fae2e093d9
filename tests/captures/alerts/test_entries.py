"""Entries typed in by people: gated like a search, logged, short-lived by default."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from captures.hotlists.matching import entries_matching
from captures.hotlists.models import Hotlist, HotlistEntry, HotlistPolicy
from captures.models import ProhibitedTerm
from tenants.people.roles import Role
from tests.factories import make_user, purpose_id, unique
from tests.support import events, verified_client


@pytest.fixture
def own_list(agency_a):
    with schema_context(agency_a.schema_name):
        return Hotlist.objects.create(name=unique("Agency "), kind=Hotlist.Kind.AGENCY, owner="x")


def entry_data(agency, hotlist, **overrides):
    data = {
        "hotlist": hotlist.pk,
        "plate": "7 ent-" + unique("")[-3:],
        "state": "CA",
        "reason": "stolen_vehicle",
        "reference": "R-1",
        "notes": "grey Civic, dented door",
        "days": "",
        "purpose": purpose_id(agency),
        "case_number": "2026-004512",
        "purpose_text": "Grey Honda Civic reported stolen on Main St",
    }
    data.update(overrides)
    return data


def test_an_entry_is_added_logged_with_its_purpose_and_matches(
    agency_a, officer_client_a, own_list
):
    data = entry_data(agency_a, own_list, plate="7ENT001")
    response = officer_client_a.post(reverse("captures:hotlists"), data)
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        entry = HotlistEntry.objects.get(hotlist=own_list)
        assert [m.entry_id for m in entries_matching(plate="7ENT001", state="CA")] == [entry.pk]
    assert (entry.case_number, entry.purpose_category) == ("2026-004512", "Stolen vehicle")
    event = events(agency_a, action=Action.HOTLIST_ENTRY_ADDED)[-1]
    assert (event.outcome, event.case_number, event.query["plate"]) == (
        Outcome.ALLOWED,
        "2026-004512",
        "7ENT001",
    )


def test_the_default_expiry_comes_from_the_agency_policy(agency_a, officer_client_a, own_list):
    with schema_context(agency_a.schema_name):
        HotlistPolicy.objects.create(entry_days=10, max_entry_days=20)
    officer_client_a.post(reverse("captures:hotlists"), entry_data(agency_a, own_list))
    with schema_context(agency_a.schema_name):
        entry = HotlistEntry.objects.get(hotlist=own_list)
    lifetime = entry.expires_at - entry.entered_at
    assert lifetime == datetime.timedelta(days=10)


def test_a_lifetime_over_the_policy_limit_is_refused_and_logged(
    agency_a, officer_client_a, own_list
):
    response = officer_client_a.post(
        reverse("captures:hotlists"), entry_data(agency_a, own_list, days="91")
    )
    assert response.status_code == 200
    assert "1 to 90 days" in response.content.decode()
    with schema_context(agency_a.schema_name):
        assert not HotlistEntry.objects.filter(hotlist=own_list).exists()
    assert events(agency_a, action=Action.HOTLIST_ENTRY_ADDED)[-1].outcome == Outcome.REFUSED


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"purpose_text": "investigation"}, "too vague"),
        ({"purpose_text": ""}, "Describe why this plate is wanted"),
        ({"case_number": ""}, "case or incident number"),
        ({"purpose": ""}, "Choose the purpose"),
        ({"plate": "--"}, "Type the plate"),
    ],
)
def test_vague_or_missing_purposes_are_refused_and_logged(
    agency_a, officer_client_a, own_list, overrides, message
):
    response = officer_client_a.post(
        reverse("captures:hotlists"), entry_data(agency_a, own_list, **overrides)
    )
    assert message in response.content.decode()
    with schema_context(agency_a.schema_name):
        assert not HotlistEntry.objects.filter(hotlist=own_list).exists()
    refused = events(agency_a, action=Action.HOTLIST_ENTRY_ADDED)[-1]
    assert (refused.outcome, message.lower() in refused.reason.lower()) == (Outcome.REFUSED, True)


def test_a_prohibited_term_refuses_the_entry(agency_a, officer_client_a, own_list):
    with schema_context(agency_a.schema_name):
        ProhibitedTerm.objects.create(term="immigration status", reason="state law")
    response = officer_client_a.post(
        reverse("captures:hotlists"),
        entry_data(agency_a, own_list, purpose_text="Check immigration status of the driver"),
    )
    assert "prohibits hotlist entries" in response.content.decode()


def test_an_extract_list_takes_no_typed_entries(agency_a, officer_client_a):
    with schema_context(agency_a.schema_name):
        extract = Hotlist.objects.create(name=unique("X "), kind=Hotlist.Kind.EXTRACT, owner="x")
    response = officer_client_a.post(reverse("captures:hotlists"), entry_data(agency_a, extract))
    assert response.status_code == 200
    with schema_context(agency_a.schema_name):
        assert not HotlistEntry.objects.filter(hotlist=extract).exists()


def test_change_and_remove_are_logged_and_removal_stops_matching(
    agency_a, officer_client_a, own_list
):
    officer_client_a.post(
        reverse("captures:hotlists"), entry_data(agency_a, own_list, plate="CHG1")
    )
    with schema_context(agency_a.schema_name):
        entry = HotlistEntry.objects.get(hotlist=own_list)
    officer_client_a.post(
        reverse("captures:hotlist-entry-change", kwargs={"entry_id": entry.pk}),
        {"reference": "R-2", "notes": "now blue", "days": "5"},
    )
    with schema_context(agency_a.schema_name):
        entry.refresh_from_db()
    assert (entry.reference, entry.notes) == ("R-2", "now blue")
    officer_client_a.post(
        reverse("captures:hotlist-entry-remove", kwargs={"entry_id": entry.pk}),
        {"why": "vehicle recovered by the owner"},
    )
    with schema_context(agency_a.schema_name):
        assert entries_matching(plate="CHG1") == []
    assert [e.action for e in events(agency_a)[-2:]] == [
        Action.HOTLIST_ENTRY_CHANGED,
        Action.HOTLIST_ENTRY_REMOVED,
    ]


def test_another_users_entry_cannot_be_removed(agency_a, officer_client_a, own_list):
    officer_client_a.post(reverse("captures:hotlists"), entry_data(agency_a, own_list))
    with schema_context(agency_a.schema_name):
        entry = HotlistEntry.objects.get(hotlist=own_list)
    other = verified_client(agency_a, make_user(agency_a, roles=[Role.OFFICER]))
    url = reverse("captures:hotlist-entry-remove", kwargs={"entry_id": entry.pk})
    assert other.post(url, {"why": "not mine"}).status_code == 404


def test_an_entry_entered_again_after_expiry_is_marked(agency_a, officer_a, own_list):
    from django.test import RequestFactory

    from captures.alerts.entries import EntryData, entry_add
    from captures.models import AuthorizedPurpose

    request = RequestFactory().post("/hotlists/")
    request.user = officer_a
    data = EntryData(plate="AGAIN1", state="", reason="bolo", days=1)
    with schema_context(agency_a.schema_name):
        purpose = AuthorizedPurpose.objects.get(pk=purpose_id(agency_a))
        kwargs = {
            "agency": agency_a,
            "request": request,
            "hotlist": own_list,
            "data": data,
            "purpose": purpose,
            "purpose_text": "Driver threatened a clerk at the gas station",
            "case_number": "2026-000777",
        }
        first = entry_add(**kwargs, now=timezone.now() - datetime.timedelta(days=3))
        again = entry_add(**kwargs)
    assert (first.reentered_after_expiry, again.reentered_after_expiry) == (False, True)
