"""Session limits on the server, sign-out, deactivation, cookies and CSRF."""

from __future__ import annotations

import time

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.people.roles import Role
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import enrolled_secret, sign_in, verified_client

pytestmark = pytest.mark.django_db


def test_idle_session_is_refused_after_31_minutes(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    with time_machine.travel(time.time(), tick=False) as traveller:
        sign_in(client_a, user.username, DEFAULT_PASSWORD, secret)
        traveller.shift(29 * 60)
        assert client_a.get("/").status_code == 200  # activity keeps it alive
        traveller.shift(29 * 60)
        assert client_a.get("/").status_code == 200
        traveller.shift(31 * 60)
        response = client_a.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert b"without activity" in client_a.get("/accounts/login/").content
    with schema_context(agency_a.schema_name):
        event = AccessEvent.objects.filter(action="logout", actor_id=user.pk).get()
        assert event.reason == "idle timeout"


def test_session_ends_after_12_hours_even_when_active(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    with time_machine.travel(time.time(), tick=False) as traveller:
        sign_in(client_a, user.username, DEFAULT_PASSWORD, secret)
        for _ in range(24):  # every 25 minutes for 10 hours
            traveller.shift(25 * 60)
            assert client_a.get("/").status_code == 200
        for _ in range(5):
            traveller.shift(25 * 60)
            client_a.get("/")
        response = client_a.get("/")
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        assert AccessEvent.objects.get(action="logout", actor_id=user.pk).reason == (
            "session lifetime reached"
        )


def test_deactivating_a_user_ends_all_their_sessions(agency_a):
    user = make_user(agency_a)
    phone = verified_client(agency_a, user)
    desk = verified_client(agency_a, user)
    bystander = verified_client(agency_a, make_user(agency_a))
    assert phone.get("/").status_code == 200
    assert desk.get("/").status_code == 200
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    admin_client = verified_client(agency_a, administrator)
    admin_client.post(
        "/admin/auth/user/", {"action": "deactivate_users", "_selected_action": [user.pk]}
    )
    assert phone.get("/").status_code == 302
    assert desk.get("/").status_code == 302
    assert bystander.get("/").status_code == 200
    with schema_context(agency_a.schema_name):
        user.refresh_from_db()
        assert not user.is_active
        keys = [phone.cookies["sessionid"].value, desk.cookies["sessionid"].value]
        assert not Session.objects.filter(session_key__in=keys).exists()
        event = AccessEvent.objects.get(action="user_changed", details__deactivated=True)
        assert event.actor_id == administrator.pk
        assert event.details["sessions_ended"] == 2


def test_session_cookie_of_agency_a_means_nothing_on_agency_b(agency_a, agency_b):
    user = make_user(agency_a)
    client = verified_client(agency_a, user)
    assert client.get("/").status_code == 200
    stolen = Client(HTTP_HOST="bravo.localhost")
    stolen.cookies["sessionid"] = client.cookies["sessionid"].value
    response = stolen.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert stolen.get("/accounts/me/").status_code == 302
    assert stolen.get("/admin/").status_code == 302


def test_tampered_session_cookie_is_anonymous_not_an_error(agency_a):
    user = make_user(agency_a)
    client = verified_client(agency_a, user)
    key = client.cookies["sessionid"].value
    for bad in [key[:-1] + ("x" if key[-1] != "x" else "y"), "garbage", "'; DROP TABLE x;--"]:
        client.cookies["sessionid"] = bad
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        page = client.get("/accounts/login/")
        assert page.status_code == 200


def test_missing_csrf_token_gets_a_clear_403(agency_a):
    user = make_user(agency_a)
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 403
    assert b"This form could not be accepted" in response.content
    assert b"reload the page" in response.content
    assert "_auth_user_id" not in client.session
    signed_in = verified_client(agency_a, user)
    signed_in.handler.enforce_csrf_checks = True
    assert signed_in.post("/accounts/logout/").status_code == 403
    assert signed_in.get("/").status_code == 200  # still signed in: nothing happened
