"""The user's own account page: password change (validated, recorded), new backup codes."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.people.roles import Role
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import password_step, verified_client

pytestmark = pytest.mark.django_db


def test_password_change_validates_and_is_recorded_without_the_password(agency_a):
    user = make_user(agency_a)
    client = verified_client(agency_a, user)
    weak = client.post(
        "/accounts/me/password/",
        {"old_password": DEFAULT_PASSWORD, "new_password1": "abc", "new_password2": "abc"},
    )
    assert b"too short" in weak.content
    wrong_old = client.post(
        "/accounts/me/password/",
        {"old_password": "nope", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )
    assert b"current password is not right" in wrong_old.content
    new = "quiet-orchard-lamp-2046"
    done = client.post(
        "/accounts/me/password/",
        {"old_password": DEFAULT_PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert done.status_code == 302
    assert client.get("/").status_code == 200  # still signed in
    assert password_step(Client(HTTP_HOST="alpha.localhost"), user.username, new).status_code == 302
    with schema_context(agency_a.schema_name):
        event = AccessEvent.objects.get(action="user_changed", actor_id=user.pk)
        assert event.details["fields"] == ["password"]
        assert new not in repr(event.__dict__)


def test_new_backup_codes_are_shown_once(agency_a):
    client = verified_client(agency_a, make_user(agency_a))
    response = client.post("/accounts/backup-codes/new/", follow=True)
    assert response.content.count(b"<code>") == 10
    assert b"<code>" not in client.get("/accounts/backup-codes/").content


def test_admin_password_link_goes_to_the_portal_page(agency_a):
    client = verified_client(agency_a, make_user(agency_a, roles=[Role.ADMINISTRATOR]))
    response = client.get("/admin/password_change/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/me/password/"
