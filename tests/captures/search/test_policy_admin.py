"""Administrators edit the purposes and prohibited terms in the admin; changes are logged."""

from __future__ import annotations

import io

import pytest
from django_tenants.utils import schema_context

from alpr_portal.demo import search_policy
from captures.models import AuthorizedPurpose, ProhibitedTerm
from tenants.people.roles import Role
from tests.factories import make_user
from tests.support import events, verified_client

pytestmark = pytest.mark.django_db


def test_every_agency_starts_with_authorized_purposes(agency_a, agency_b):
    for agency in (agency_a, agency_b):
        with schema_context(agency.schema_name):
            names = set(AuthorizedPurpose.objects.values_list("name", flat=True))
        assert {"Stolen vehicle", "Other (describe)"} <= names


def test_administrator_adds_a_prohibited_term(agency_a, agency_b):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, admin)
    assert client.get("/admin/captures/authorizedpurpose/").status_code == 200
    response = client.post(
        "/admin/captures/prohibitedterm/add/",
        {"term": "immigration status", "reason": "Forbidden by city ordinance 12-7"},
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        assert ProhibitedTerm.objects.filter(term="immigration status").exists()
    with schema_context(agency_b.schema_name):  # agency B's list is its own
        assert not ProhibitedTerm.objects.filter(term="immigration status").exists()
    (event,) = events(agency_a, actor_id=admin.pk, action="settings_changed")
    assert event.details["value"] == "immigration status"


def test_officers_cannot_edit_the_policy(agency_a):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    with schema_context(agency_a.schema_name):
        officer.is_staff = True  # even a staff flag set by mistake does not open these pages
        officer.save(update_fields=["is_staff"])
    client = verified_client(agency_a, officer)
    # 403 from these pages, or a redirect to sign in from an admin site limited to Administrators
    assert client.get("/admin/captures/prohibitedterm/").status_code in {302, 403}
    response = client.post("/admin/captures/prohibitedterm/add/", {"term": "officer-added"})
    assert response.status_code in {302, 403}
    with schema_context(agency_a.schema_name):
        assert not ProhibitedTerm.objects.filter(term="officer-added").exists()


def test_demo_seed_is_idempotent(agency_a):
    for _ in range(2):
        search_policy.seed(agency=agency_a, stdout=io.StringIO())
    with schema_context(agency_a.schema_name):
        assert ProhibitedTerm.objects.filter(term="immigration enforcement").count() == 1
