"""The Administrators' page of grants: offer, accept, renew and revoke through the pages."""

from __future__ import annotations

import datetime

import pytest

from audit.models import Action
from tenants.models import Agency
from tenants.people.roles import Role
from tenants.sharing.models import Grant
from tenants.sharing.services import agency_today, grant_offer
from tests.factories import make_camera, make_user
from tests.support import NewRows, verified_client

pytestmark = pytest.mark.django_db
NEW = NewRows()
events = NEW.events
grants = NEW.grants


@pytest.fixture(autouse=True)
def _only_this_tests_rows(agency_a, agency_b):
    NEW.mark(agency_a, agency_b)


@pytest.fixture
def admin_a(agency_a):
    return verified_client(
        agency_a, make_user(agency_a, username="chief-a", roles=[Role.ADMINISTRATOR])
    )


@pytest.fixture
def admin_b(agency_b):
    return verified_client(
        agency_b, make_user(agency_b, username="chief-b", roles=[Role.ADMINISTRATOR])
    )


def _day(agency, days):
    return (agency_today(agency) + datetime.timedelta(days=days)).isoformat()


def test_offer_accept_renew_revoke_through_the_pages(agency_a, agency_b, admin_a, admin_b):
    camera = make_camera(agency_a)
    page = admin_a.get("/sharing/")
    assert page.status_code == 200
    assert "Permissive default" in page.content.decode()
    response = admin_a.post(
        "/sharing/",
        {"recipient": agency_b.pk, "ends_on": _day(agency_a, 30), "cameras": [str(camera.pk)]},
    )
    assert response.status_code == 302
    grant = grants().get()
    assert grant.camera_ids == [camera.pk]
    assert events(agency_a, action=Action.SHARE_OFFERED)[0].actor_username == "chief-a"

    received = admin_b.get("/sharing/").content.decode()
    assert "Accept these terms" in received
    assert "usage and privacy policy" in received.lower()
    assert admin_b.post(f"/sharing/{grant.pk}/accept/").status_code == 302
    assert grants().get().status == Grant.Status.ACTIVE

    assert (
        admin_a.post(f"/sharing/{grant.pk}/renew/", {"ends_on": _day(agency_a, 90)}).status_code
        == 302
    )
    assert grants().get().ends_on.isoformat() == _day(agency_a, 90)
    assert admin_a.post(f"/sharing/{grant.pk}/revoke/", {"reason": "ended"}).status_code == 302
    assert grants().get().status == Grant.Status.REVOKED
    for action in (Action.SHARE_ACCEPTED, Action.SHARE_RENEWED, Action.SHARE_REVOKED):
        assert len(events(agency_a, action=action)) == 1, action
        assert len(events(agency_b, action=action)) == 1, action


def test_other_agencies_grants_are_404(agency_a, agency_b, admin_a, admin_b):
    grant = grant_offer(
        owner=agency_a, recipient=agency_b, ends_on=agency_today(agency_a), username="x"
    )
    # B cannot revoke or renew A's grant, A cannot accept its own offer.
    assert admin_b.post(f"/sharing/{grant.pk}/revoke/").status_code == 404
    assert (
        admin_b.post(f"/sharing/{grant.pk}/renew/", {"ends_on": _day(agency_a, 9)}).status_code
        == 404
    )
    assert admin_a.post(f"/sharing/{grant.pk}/accept/").status_code == 404
    assert grants().get().status == Grant.Status.OFFERED


def test_refused_offers_are_form_errors_and_store_nothing(agency_a, agency_b, admin_a):
    Agency.objects.filter(pk=agency_a.pk).update(jurisdiction="CA", share_law_profile="california")
    Agency.objects.filter(pk=agency_b.pk).update(jurisdiction="AZ")
    response = admin_a.post("/sharing/", {"recipient": agency_b.pk, "ends_on": _day(agency_a, 30)})
    assert response.status_code == 400
    assert "only with agencies in CA" in response.content.decode()
    for data in (
        {"recipient": agency_b.pk, "ends_on": "not a date"},
        {"recipient": "999999", "ends_on": _day(agency_a, 30)},
        {"recipient": agency_b.pk, "ends_on": _day(agency_a, 400)},
        {"recipient": agency_b.pk, "ends_on": _day(agency_a, 30), "days_back": "99"},
        {"recipient": agency_b.pk, "ends_on": _day(agency_a, 30), "cameras": ["424242"]},
    ):
        assert admin_a.post("/sharing/", data).status_code == 400, data
    assert not grants().exists()
    assert events(agency_a, action=Action.SHARE_OFFERED) == []


def test_renew_with_a_bad_date_says_so(agency_a, agency_b, admin_a):
    grant = grant_offer(
        owner=agency_a, recipient=agency_b, ends_on=agency_today(agency_a), username="x"
    )
    response = admin_a.post(f"/sharing/{grant.pk}/renew/", {"ends_on": "tomorrow"}, follow=True)
    assert "Give the new last day as a date." in response.content.decode()
    assert events(agency_a, action=Action.SHARE_RENEWED) == []


def test_officers_do_not_manage_grants(agency_a):
    officer = verified_client(agency_a, make_user(agency_a))
    assert officer.get("/sharing/").status_code == 403
