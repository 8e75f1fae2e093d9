"""Five consecutive failed sign-ins (password or code) lock the account until an admin unlocks."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.people.models import LoginLock
from tenants.people.roles import Role
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import (
    code_for,
    code_step,
    details_of,
    enrolled_secret,
    password_step,
    sign_in,
    verified_client,
)

pytestmark = pytest.mark.django_db


def test_five_failures_lock_until_an_administrator_unlocks(agency_a, agency_b):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    # Failures from different addresses all count: per username, not per IP.
    for i in range(3):
        client = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert password_step(client, user.username, "wrong-password-123").status_code == 200
    client = Client(HTTP_HOST="alpha.localhost")
    password_step(client, user.username, DEFAULT_PASSWORD)
    assert b"not right" in code_step(client, "000000").content  # 4th failure: a wrong code
    last = code_step(client, "111111")  # 5th failure locks
    assert last.status_code == 302
    assert last["Location"] == "/accounts/login/"
    assert b"locked" in client.get("/accounts/login/").content

    # Even the right password and code are now refused, with a clear message.
    fresh = Client(HTTP_HOST="alpha.localhost")
    refused = password_step(fresh, user.username, DEFAULT_PASSWORD)
    assert refused.status_code == 200
    assert b"This account is locked" in refused.content
    assert b"administrator to unlock" in refused.content
    with schema_context(agency_a.schema_name):
        assert AccessEvent.objects.filter(action="lockout", actor_username=user.username).count()
        assert LoginLock.objects.get(username=user.username).locked_at is not None
    # The same username in agency B is unaffected.
    with schema_context(agency_b.schema_name):
        assert not LoginLock.objects.filter(username=user.username).exists()

    # An officer cannot unlock; an administrator can, through the admin action.
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    admin_client = verified_client(agency_a, administrator)
    officer_client = verified_client(agency_a, make_user(agency_a))
    action = {"action": "unlock_accounts", "_selected_action": [user.pk]}
    officer_post = officer_client.post("/admin/auth/user/", action)
    assert officer_post.status_code in (302, 403)
    with schema_context(agency_a.schema_name):
        assert LoginLock.objects.get(username=user.username).locked_at is not None
    response = admin_client.post("/admin/auth/user/", action, follow=True)
    assert b"Unlocked: " + user.username.encode() in response.content
    with schema_context(agency_a.schema_name):
        assert not LoginLock.objects.filter(username=user.username).exists()
        unlock = AccessEvent.objects.get(action="unlock")
        assert unlock.actor_id == administrator.pk
        assert unlock.details["username"] == user.username

    assert sign_in(fresh, user.username, DEFAULT_PASSWORD, secret).status_code == 302
    assert fresh.get("/").status_code == 200


def test_success_resets_the_count(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    for _ in range(4):
        password_step(client_a, user.username, "wrong-password-123")
    assert sign_in(client_a, user.username, DEFAULT_PASSWORD, secret).status_code == 302
    with schema_context(agency_a.schema_name):
        assert not LoginLock.objects.filter(username=user.username).exists()
    other = Client(HTTP_HOST="alpha.localhost")
    password_step(other, user.username, "wrong-password-123")
    with schema_context(agency_a.schema_name):
        assert LoginLock.objects.get(username=user.username).failures == 1


def test_locked_lockout_list_in_admin_unlocks_too(agency_a):
    user = make_user(agency_a)
    for _ in range(5):
        password_step(Client(HTTP_HOST="alpha.localhost"), user.username, "wrong-password-123")
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, administrator)
    listing = client.get("/admin/people/loginlock/?locked_at__isempty=0")
    assert user.username.encode() in listing.content
    with schema_context(agency_a.schema_name):
        lock_id = LoginLock.objects.get(username=user.username).pk
    client.post("/admin/people/loginlock/", {"action": "unlock", "_selected_action": [lock_id]})
    with schema_context(agency_a.schema_name):
        assert not LoginLock.objects.filter(username=user.username).exists()


def test_code_step_refused_when_locked_meanwhile(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    password_step(client_a, user.username, DEFAULT_PASSWORD)
    for _ in range(5):
        password_step(Client(HTTP_HOST="alpha.localhost"), user.username, "wrong-password-123")
    response = code_step(client_a, code_for(secret))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client_a.session
    with schema_context(agency_a.schema_name):
        refusal = AccessEvent.objects.filter(actor_username=user.username).latest("id")
    assert (refusal.action, refusal.outcome, refusal.reason) == (
        "login_failed",
        "refused",
        "account locked",
    )
    assert details_of(refusal) == {"step": "code"}
