"""An administrator acts on one user from that user's admin page: unlock, reset the second
factor, deactivate; the account's state reads in words ("Locked", "Open"), never icons."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from tenants.people.models import EncryptedTOTPDevice, LoginLock
from tenants.people.roles import Role
from tests.factories import make_user
from tests.support import enrolled_secret, verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(agency_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    return verified_client(agency_a, administrator), administrator


def _page(client, user) -> str:
    response = client.get(f"/admin/auth/user/{user.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_locked_user_is_unlocked_from_their_page(agency_a, admin_client):
    client, administrator = admin_client
    officer = make_user(agency_a)
    with schema_context(agency_a.schema_name):
        LoginLock.objects.create(username=officer.username, failures=5, locked_at=timezone.now())
    page = _page(client, officer)
    assert '<strong class="account-locked">Locked</strong> since' in page
    assert f"/admin/auth/user/{officer.pk}/account/unlock/" in page
    response = client.post(f"/admin/auth/user/{officer.pk}/account/unlock/")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/auth/user/{officer.pk}/change/"
    page = client.get(response["Location"]).content.decode()
    assert f"Unlocked {officer.username}." in page
    assert "Open (not locked)" in page
    with schema_context(agency_a.schema_name):
        assert not LoginLock.objects.filter(
            username=officer.username, locked_at__isnull=False
        ).exists()
        entry = AccessEvent.objects.filter(action=Action.UNLOCK).order_by("-id").first()
        assert entry.actor_username == administrator.username


def test_reset_second_factor_and_deactivate_from_the_users_page(agency_a, admin_client):
    client, administrator = admin_client
    officer = make_user(agency_a)
    enrolled_secret(agency_a, officer)
    page = _page(client, officer)
    assert "Authenticator set up" in page
    assert (
        client.post(f"/admin/auth/user/{officer.pk}/account/reset_second_factor/").status_code
        == 302
    )
    with schema_context(agency_a.schema_name):
        assert not EncryptedTOTPDevice.objects.filter(user=officer).exists()
    assert "Not set up: they enrol at their next sign-in" in _page(client, officer)
    client.post(f"/admin/auth/user/{officer.pk}/account/deactivate/")
    officer.refresh_from_db()
    assert officer.is_active is False
    assert "Inactive: cannot sign in" in _page(client, officer)


def test_no_deactivating_oneself_and_get_or_unknown_actions_change_nothing(agency_a, admin_client):
    client, administrator = admin_client
    page = _page(client, administrator)
    assert "/account/deactivate/" not in page  # not offered on one's own page
    client.post(f"/admin/auth/user/{administrator.pk}/account/deactivate/")
    administrator.refresh_from_db()
    assert administrator.is_active
    officer = make_user(agency_a)
    assert client.get(f"/admin/auth/user/{officer.pk}/account/deactivate/").status_code == 405
    assert client.post(f"/admin/auth/user/{officer.pk}/account/erase/").status_code == 404
    assert client.post("/admin/auth/user/987654321/account/unlock/").status_code == 404
    officer.refresh_from_db()
    assert officer.is_active


def test_officers_cannot_use_the_account_actions(agency_a):
    officer = make_user(agency_a)
    target = make_user(agency_a)
    client = verified_client(agency_a, officer)
    response = client.post(f"/admin/auth/user/{target.pk}/account/deactivate/")
    assert response.status_code in {302, 403}
    target.refresh_from_db()
    assert target.is_active


def test_the_user_list_says_locked_or_open_in_words(agency_a, admin_client):
    client, _ = admin_client
    locked = make_user(agency_a, username="locked-one")
    make_user(agency_a, username="open-one")
    with schema_context(agency_a.schema_name):
        LoginLock.objects.create(username=locked.username, failures=5, locked_at=timezone.now())
    page = client.get("/admin/auth/user/?q=-one").content.decode()
    assert '<span class="account-locked">Locked</span>' in page
    assert ">Open</td>" in page
