"""A support session reaches only what its grant's scope names, on every URL of the agency host
(the URL walk of tests/tenants/people/test_url_access.py); what it does is logged and marked."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from tenants.people.roles import Role
from tenants.support.scope import scope_allows
from tests.factories import (
    DEFAULT_PASSWORD,
    make_camera,
    make_capture,
    make_support_grant,
    make_user,
    search_data,
)
from tests.support import events, settings_form_data, support_sign_in, verified_client
from tests.tenants.people.test_url_access import ENDPOINTS, _kind

# Ending the session would end the walk: sign-out is checked in test_sign_in.py.
SIGN_OUT = {"logout", "admin:logout"}


def _support_client(agency, staff, scope):
    grant = make_support_grant(agency, staff=staff, scope=scope)
    client = Client(HTTP_HOST="alpha.localhost")
    response = support_sign_in(client, staff.username, DEFAULT_PASSWORD, staff.secret)
    assert response.status_code == 302
    return client, grant


def _answer(client, path):
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path)
    return response


@pytest.mark.parametrize("scope", ["settings", "read_only"])
def test_every_url_outside_the_scope_is_refused_and_inside_it_admitted(agency_a, staff, scope):
    client, grant = _support_client(agency_a, staff, scope)
    role = Role.ADMINISTRATOR if scope == "settings" else Role.OFFICER
    staff_like = verified_client(agency_a, make_user(agency_a, roles=[role]))
    checked = 0
    for endpoint in ENDPOINTS:
        if endpoint.name in SIGN_OUT or _kind(endpoint) == "camera_api":
            continue
        response = _answer(client, endpoint.path)
        assert response.status_code < 500, endpoint
        if _kind(endpoint) == "public":  # open to anyone, signed in or not: never refused
            assert response.status_code != 403, endpoint
            continue
        method = response.request["REQUEST_METHOD"]
        if scope_allows(scope, endpoint.name, method):
            # Inside the scope the page answers as it answers the agency's own staff in the role.
            assert b"Outside the support grant" not in response.content, endpoint
            assert response.status_code == _answer(staff_like, endpoint.path).status_code, endpoint
        else:
            assert response.status_code == 403, endpoint
            assert b"Outside the support grant" in response.content, endpoint
        checked += 1
    assert checked > 20
    # The session survived the walk (a refusal does not sign out) and each page was logged.
    assert client.get("/support/session/").status_code == 200
    requests = events(agency_a, action=Action.SUPPORT_REQUEST, actor_id=grant.account_id)
    assert len(requests) > checked
    assert any(e.outcome == Outcome.REFUSED for e in requests)


def test_the_admin_index_lists_only_settings_and_cameras(agency_a, staff):
    client, _ = _support_client(agency_a, staff, "settings")
    page = client.get("/admin/").content.decode()
    assert "/admin/captures/camera/" in page
    assert "/admin/tenants/agencysettings/" in page
    assert "/admin/auth/user/" not in page
    assert "/admin/audit/" not in page


def test_a_settings_change_under_the_grant_is_logged_as_support(agency_a, staff):
    client, grant = _support_client(agency_a, staff, "settings")
    url = f"/admin/tenants/agencysettings/{agency_a.pk}/change/"
    form = client.get(url)
    assert form.status_code == 200
    response = client.post(
        url,
        settings_form_data(
            agency_a,
            retention_days="20",
            purge_hour="4",
            require_case_number="on",
            contact_name="Support changed it",
            contact_email="",
            policy_text="",
        ),
    )
    assert response.status_code == 302, response.content[:2000]
    (entry,) = events(agency_a, action=Action.SETTINGS_CHANGED, actor_id=grant.account_id)
    assert entry.details["support_grant"] == grant.pk
    assert entry.details["support"] is True
    assert entry.details["changes"]["retention_days"]["to"] == 20


def test_read_only_data_searches_with_a_purpose_views_and_never_reviews(agency_a, staff):
    camera = make_camera(agency_a)
    capture = make_capture(agency_a, camera=camera, plate="7SUP123")
    client, grant = _support_client(agency_a, staff, "read_only")

    refused = client.post("/search/", search_data(agency_a, plate="7SUP123", purpose=""))
    assert refused.status_code in (200, 400)
    response = client.post("/search/", search_data(agency_a, plate="7SUP123"), follow=True)
    assert response.status_code == 200
    assert b"7SUP123" in response.content
    searches = events(agency_a, action=Action.SEARCH, actor_id=grant.account_id)
    assert [e.outcome for e in searches] == [Outcome.REFUSED, Outcome.ALLOWED]
    assert all(e.details["support_grant"] == grant.pk for e in searches)
    assert searches[1].purpose_category

    page = client.get(f"/captures/{capture.pk}/")
    assert page.status_code == 200
    (viewed,) = events(agency_a, action=Action.CAPTURE_VIEWED, actor_id=grant.account_id)
    assert viewed.details["support_grant"] == grant.pk

    assert client.get("/review/").status_code == 403
    assert client.post(f"/review/{capture.pk}/", {"decision": "confirm"}).status_code == 403
    assert client.get(f"/captures/{capture.pk}/print/").status_code == 403
    assert client.get("/admin/").status_code == 403
    with schema_context(agency_a.schema_name):
        capture.refresh_from_db()
    assert events(agency_a, action=Action.REVIEW, actor_id=grant.account_id) == []
