"""The agency admin: OTP-verified Administrators only; users, roles and second factor managed there."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.people.models import EncryptedTOTPDevice
from tenants.people.roles import Role, user_roles
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import enrolled_secret, password_step, sign_in, verified_client

pytestmark = pytest.mark.django_db


def test_only_verified_administrators_enter_the_admin(agency_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    assert verified_client(agency_a, administrator).get("/admin/").status_code == 200

    anonymous = Client(HTTP_HOST="alpha.localhost").get("/admin/", follow=True)
    assert anonymous.redirect_chain[-1][0].startswith("/accounts/login/?next=")

    password_only = Client(HTTP_HOST="alpha.localhost")
    password_only.force_login(administrator)  # authenticated, second factor not verified
    assert password_only.get("/admin/").status_code == 302
    assert password_only.get("/admin/auth/user/").status_code == 302

    for roles in ([Role.OFFICER], [Role.AUDITOR], [Role.OFFICER, Role.AUDITOR], []):
        client = verified_client(agency_a, make_user(agency_a, roles=roles))
        response = client.get("/admin/auth/user/", follow=True)
        assert response.status_code == 403
        assert b"Administration is for administrators" in response.content


def test_admin_sign_in_goes_through_the_two_steps(agency_a, client_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    secret = enrolled_secret(agency_a, administrator)
    login = client_a.get("/admin/login/?next=/admin/auth/user/")
    assert login["Location"].startswith("/accounts/login/?next=")
    first = password_step(client_a, administrator.username, DEFAULT_PASSWORD, next_url="/admin/")
    from tests.support import code_for

    done = client_a.post(first["Location"], {"code": code_for(secret)})
    assert done["Location"] == "/admin/"
    assert client_a.get("/admin/auth/user/").status_code == 200


def test_administrator_creates_a_user_with_role_and_training(agency_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, administrator)
    base = {
        "username": "newofficer",
        "first_name": "Nora",
        "last_name": "Ng",
        "email": "nora@alpha.invalid",
        "roles": ["Officer", "Auditor"],
        "training_records-TOTAL_FORMS": "1",
        "training_records-INITIAL_FORMS": "0",
        "training_records-MIN_NUM_FORMS": "0",
        "training_records-MAX_NUM_FORMS": "1000",
        "training_records-0-kind": "initial",
        "training_records-0-completed_on": (
            timezone.localdate() - datetime.timedelta(days=2)
        ).isoformat(),
        "training_records-0-trainer": "Academy",
    }
    weak = client.post(
        "/admin/auth/user/add/", {**base, "password1": "short", "password2": "short"}
    )
    assert weak.status_code == 200
    assert b"too short" in weak.content
    common = client.post(
        "/admin/auth/user/add/", {**base, "password1": "password1234", "password2": "password1234"}
    )
    assert b"too common" in common.content
    with schema_context(agency_a.schema_name):
        assert not get_user_model().objects.filter(username="newofficer").exists()

    password = "violet-lantern-harbor-77"
    response = client.post(
        "/admin/auth/user/add/", {**base, "password1": password, "password2": password}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(agency_a.schema_name):
        user = get_user_model().objects.get(username="newofficer")
        assert user_roles(user) == {Role.OFFICER, Role.AUDITOR}
        assert user.training_records.get().trainer == "Academy"
        # Browser tests commit entries (a support grant creates a user): find this user's.
        created = AccessEvent.objects.get(action="user_created", details__username="newofficer")
        assert created.actor_id == administrator.pk
        assert created.details["roles"] == ["Auditor", "Officer"]
        assert (
            AccessEvent.objects.filter(
                action="training_changed", details__username="newofficer"
            ).count()
            == 1
        )
        for event in AccessEvent.objects.all():
            assert password not in repr(event.__dict__)
    # The new user can sign in (and enrols at first sign-in).
    fresh = Client(HTTP_HOST="alpha.localhost")
    assert "/enrol/" in password_step(fresh, "newofficer", password)["Location"]


def test_role_change_is_audited_and_takes_effect(agency_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, administrator)
    officer = make_user(agency_a, trained=False)
    officer_client = verified_client(agency_a, officer)
    assert officer_client.get("/admin/").status_code == 302
    response = client.post(
        f"/admin/auth/user/{officer.pk}/change/",
        {
            "username": officer.username,
            "email": "changed@alpha.invalid",
            "is_active": "on",
            "roles": ["Administrator"],
            "training_records-TOTAL_FORMS": "0",
            "training_records-INITIAL_FORMS": "0",
            "training_records-MIN_NUM_FORMS": "0",
            "training_records-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302
    assert officer_client.get("/admin/").status_code == 200
    with schema_context(agency_a.schema_name):
        role_event = AccessEvent.objects.get(action="role_changed")
        assert role_event.details["before"] == ["Officer"]
        assert role_event.details["after"] == ["Administrator"]
        changed = AccessEvent.objects.get(action="user_changed")
        assert changed.details["fields"] == ["email"]


def test_reset_second_factor_is_audited_and_forces_enrolment(agency_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    officer = make_user(agency_a)
    secret = enrolled_secret(agency_a, officer)
    officer_client = Client(HTTP_HOST="alpha.localhost")
    sign_in(officer_client, officer.username, DEFAULT_PASSWORD, secret)
    assert officer_client.get("/").status_code == 200

    client = verified_client(agency_a, administrator)
    response = client.post(
        "/admin/auth/user/",
        {"action": "reset_second_factor", "_selected_action": [officer.pk]},
        follow=True,
    )
    assert b"Second factor reset for 1 user" in response.content
    with schema_context(agency_a.schema_name):
        assert not EncryptedTOTPDevice.objects.filter(user=officer).exists()
        event = AccessEvent.objects.get(action="mfa_reset")
        assert event.actor_id == administrator.pk
        assert event.details["username"] == officer.username
    assert officer_client.get("/").status_code == 302  # their session ended
    again = password_step(Client(HTTP_HOST="alpha.localhost"), officer.username, DEFAULT_PASSWORD)
    assert "/accounts/login/enrol/" in again["Location"]


def test_admin_of_agency_a_gets_404_for_agency_b_user_ids(agency_a, agency_b):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, administrator)
    b_user = make_user(agency_b, username="bravo-only-user")
    with schema_context(agency_a.schema_name):
        a_ids = set(get_user_model().objects.values_list("pk", flat=True))
    missing_id = max(a_ids | {b_user.pk}) + 1000
    assert client.get(f"/admin/auth/user/{missing_id}/change/").status_code == 404
    listing = client.get("/admin/auth/user/")
    assert b"bravo-only-user" not in listing.content
    # An id that exists only in B: either missing in A (404) or a different A user.
    response = client.get(f"/admin/auth/user/{b_user.pk}/change/")
    assert b"bravo-only-user" not in response.content


def test_users_are_deactivated_not_deleted(agency_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    officer = make_user(agency_a)
    client = verified_client(agency_a, administrator)
    assert client.get(f"/admin/auth/user/{officer.pk}/delete/").status_code == 403
    response = client.post(
        "/admin/auth/user/",
        {"action": "deactivate_users", "_selected_action": [administrator.pk]},
        follow=True,
    )
    assert b"cannot deactivate yourself" in response.content
    with schema_context(agency_a.schema_name):
        administrator.refresh_from_db()
        assert administrator.is_active


def test_unticking_active_in_the_change_form_ends_sessions(agency_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    officer = make_user(agency_a)
    officer_client = verified_client(agency_a, officer)
    assert officer_client.get("/").status_code == 200
    client = verified_client(agency_a, administrator)
    response = client.post(
        f"/admin/auth/user/{officer.pk}/change/",
        {
            "username": officer.username,
            "email": officer.email,
            "roles": ["Officer"],
            "training_records-TOTAL_FORMS": "0",
            "training_records-INITIAL_FORMS": "0",
            "training_records-MIN_NUM_FORMS": "0",
            "training_records-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302
    assert officer_client.get("/").status_code == 302
    refused = password_step(Client(HTTP_HOST="alpha.localhost"), officer.username, DEFAULT_PASSWORD)
    assert b"deactivated" in refused.content
    with schema_context(agency_a.schema_name):
        assert AccessEvent.objects.get(action="user_changed", details__deactivated=True)
