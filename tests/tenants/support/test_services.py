"""Grants: made and revoked only by the agency's own Administrators, within their limits; the
platform cannot grant itself access or extend a grant (service, admin, database)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action
from tenants.admin import platform_admin_site
from tenants.people.models import TrainingRecord
from tenants.people.roles import Role, user_roles
from tenants.support.models import SupportGrant
from tenants.support.services import SupportError, grant_create, grant_revoke
from tests.factories import make_platform_staff, make_support_grant, make_user
from tests.support import events, verified_client


def _grant(agency, admin, staff, **overrides):
    values = {
        "actor": admin,
        "platform_username": staff.get_username(),
        "scope": "settings",
        "reason": "Ticket 77: camera keys",
        "hours": 2,
    }
    values.update(overrides)
    with schema_context(agency.schema_name):
        return grant_create(**values)


def test_an_administrator_grants_named_staff_for_a_while(agency_a, staff):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    before = timezone.now()
    grant = _grant(agency_a, admin, staff, hours=3)
    assert grant.platform_username == staff.username
    assert grant.platform_user_id == staff.pk
    assert before + datetime.timedelta(hours=3) <= grant.expires_at
    assert grant.expires_at <= timezone.now() + datetime.timedelta(hours=3)
    with schema_context(agency_a.schema_name):
        account = User.objects.get(pk=grant.account_id)
        assert user_roles(account) == {Role.ADMINISTRATOR}
        assert not account.has_usable_password()
    (entry,) = events(
        agency_a, action=Action.SUPPORT_GRANTED, details__platform_username=staff.username
    )
    assert entry.actor_username == admin.username
    assert entry.details["platform_username"] == staff.username
    assert entry.details["scope"] == "settings"
    assert {"type": "support_grant", "id": str(grant.pk)} in entry.objects_touched


def test_read_only_data_needs_current_training_which_the_grant_records(agency_a, staff):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    with pytest.raises(SupportError, match="training"):
        _grant(agency_a, admin, staff, scope="read_only")
    with pytest.raises(SupportError, match="more than a year"):
        _grant(
            agency_a,
            admin,
            staff,
            scope="read_only",
            training_completed_on=timezone.localdate() - datetime.timedelta(days=400),
        )
    done = timezone.localdate() - datetime.timedelta(days=5)
    grant = _grant(agency_a, admin, staff, scope="read_only", training_completed_on=done)
    with schema_context(agency_a.schema_name):
        record = TrainingRecord.objects.get(user_id=grant.account_id)
        assert record.completed_on == done
        assert f"#{grant.pk}" in record.trainer
        assert user_roles(User.objects.get(pk=grant.account_id)) == {Role.OFFICER}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hours": 25}, "1 to 24 hours"),
        ({"hours": 0}, "1 to 24 hours"),
        ({"reason": "fix"}, "Say why"),
        ({"scope": "everything"}, "Choose a scope"),
        ({"platform_username": "nobody-here"}, "No active platform staff"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_stored(agency_a, staff, overrides, message):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    with pytest.raises(SupportError, match=message):
        _grant(agency_a, admin, staff, **overrides)
    with schema_context(agency_a.schema_name):
        assert not SupportGrant.objects.filter(platform_user_id=staff.pk).exists()
    assert (
        events(agency_a, action=Action.SUPPORT_GRANTED, details__platform_username=staff.username)
        == []
    )


def test_only_platform_staff_can_be_named(agency_a, platform):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    not_staff = make_platform_staff()
    with schema_context("public"):
        User.objects.filter(pk=not_staff.pk).update(is_staff=False)
    with pytest.raises(SupportError, match="No active platform staff"):
        _grant(agency_a, admin, not_staff)


def test_one_active_grant_per_staff_member(agency_a, staff):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    _grant(agency_a, admin, staff)
    with pytest.raises(SupportError, match="already has active support access"):
        _grant(agency_a, admin, staff)


def test_officers_and_auditors_cannot_grant(agency_a, staff):
    for roles in ([Role.OFFICER], [Role.AUDITOR]):
        with pytest.raises(SupportError, match="Only an Administrator"):
            _grant(agency_a, make_user(agency_a, roles=roles), staff)


# --- The platform cannot grant itself access --------------------------------------------------


def test_the_platform_schema_cannot_create_a_grant(platform, staff):
    """Platform staff (or a script) in public, naming themselves: refused before anything."""
    with pytest.raises(SupportError, match="the platform cannot grant"):
        grant_create(
            actor=staff,
            platform_username=staff.username,
            scope="settings",
            reason="I would like to look around",
            hours=24,
        )


def test_a_platform_user_row_is_no_administrator_of_the_agency(agency_a, staff):
    """Passing the platform staff's own user into the agency's schema is refused too."""
    with pytest.raises(SupportError, match="Only an Administrator"):
        _grant(agency_a, staff, staff)
    assert (
        events(agency_a, action=Action.SUPPORT_GRANTED, details__platform_username=staff.username)
        == []
    )


def test_a_support_account_cannot_grant_or_extend(agency_a, staff):
    """A settings grant's account holds the Administrator role: still no grant, no revoke."""
    grant = make_support_grant(agency_a, staff=staff, scope="settings")
    with schema_context(agency_a.schema_name):
        account = User.objects.get(pk=grant.account_id)
    other = make_platform_staff()
    with pytest.raises(SupportError, match="support account cannot"):
        _grant(agency_a, account, other)
    with pytest.raises(SupportError, match="support account cannot"), schema_context("alpha"):
        grant_revoke(grant=grant, actor=account, reason="extend it by granting again")


def test_the_platform_admin_has_no_support_grant_page(platform, staff):
    assert SupportGrant not in platform_admin_site._registry
    assert SupportGrant not in django_admin.site._registry  # grants go through the service only
    client = verified_client(platform, staff)
    for path in ("/admin/support/supportgrant/", "/admin/support/supportgrant/add/"):
        assert client.get(path).status_code == 404, path
    # The platform host's support page lists grants; it has no form to make one.
    page = client.get("/support/")
    assert page.status_code == 200
    assert b"<form" not in page.content.split(b"<main", 1)[-1]
    assert client.post("/support/").status_code == 405


def test_staff_changing_an_agency_on_the_platform_admin_makes_no_grant(platform, agency_a, staff):
    with schema_context("public"):
        User.objects.filter(pk=staff.pk).update(is_superuser=True)
    client = verified_client(platform, User.objects.get(pk=staff.pk))
    response = client.get(f"/admin/tenants/agency/{agency_a.pk}/change/")
    assert response.status_code == 200
    assert b"support" not in response.content.lower().split(b"<main", 1)[-1]
    with schema_context(agency_a.schema_name):
        assert not SupportGrant.objects.filter(platform_user_id=staff.pk).exists()


def test_the_database_refuses_to_extend_or_delete_a_grant(agency_a, staff):
    grant = make_support_grant(agency_a, staff=staff)
    with schema_context(agency_a.schema_name):
        rows = SupportGrant.objects.filter(pk=grant.pk)
        later = grant.expires_at + datetime.timedelta(hours=1)
        with pytest.raises(DatabaseError, match="cannot be extended"), transaction.atomic():
            rows.update(expires_at=later)
        with pytest.raises(DatabaseError, match="cannot be extended"), transaction.atomic():
            rows.update(scope="read_only")
        with pytest.raises(DatabaseError, match="revoke instead"), transaction.atomic():
            rows.delete()
        assert rows.get().expires_at == grant.expires_at


def test_the_database_refuses_a_grant_longer_than_a_day(agency_a, staff):
    grant = make_support_grant(agency_a, staff=staff)
    with schema_context(agency_a.schema_name), pytest.raises(IntegrityError), transaction.atomic():
        SupportGrant.objects.create(
            platform_user_id=staff.pk,
            platform_username=staff.username,
            scope="settings",
            reason="longer",
            granted_by_id=grant.granted_by_id,
            expires_at=timezone.now() + datetime.timedelta(hours=25),
            account=make_user(agency_a, roles=[]),
        )


# --- Revocation ----------------------------------------------------------------------------


def test_revoking_ends_the_grant_its_account_and_sessions(agency_a, staff):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    grant = _grant(agency_a, admin, staff)
    with schema_context(agency_a.schema_name):
        account = User.objects.get(pk=grant.account_id)
    session_client = verified_client(agency_a, account)  # any session of the account
    with schema_context(agency_a.schema_name):
        ended = grant_revoke(grant=grant, actor=admin, reason="done with ticket 77")
        grant.refresh_from_db()
        account.refresh_from_db()
        assert grant.status() == "revoked"
        assert not account.is_active
        with pytest.raises(SupportError, match="already ended"):
            grant_revoke(grant=grant, actor=admin, reason="twice")
    assert ended == 1
    assert session_client.get("/").status_code == 302
    (entry,) = events(
        agency_a, action=Action.SUPPORT_REVOKED, details__platform_username=staff.username
    )
    assert entry.reason == "done with ticket 77"
    assert entry.details["sessions_ended"] == 1


def test_a_grant_of_agency_a_is_nothing_in_agency_b(agency_a, agency_b, staff):
    grant = make_support_grant(agency_a, staff=staff)
    admin_b = make_user(agency_b, roles=[Role.ADMINISTRATOR])
    response = verified_client(agency_b, admin_b).get(f"/support/{grant.pk}/")
    assert response.status_code == 404
    response = verified_client(agency_b, admin_b).post(
        f"/support/{grant.pk}/revoke/", {"reason": "not ours"}
    )
    assert response.status_code == 404


def test_grant_pages_for_administrators_and_auditors(agency_a, staff):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, admin)
    response = client.post(
        "/support/new/",
        {
            "platform_username": staff.username,
            "scope": "settings",
            "reason": "Ticket 88: the purge hour",
            "hours": "30",
        },
    )
    assert response.status_code == 200
    assert b"at most 24 hours" in response.content
    response = client.post(
        "/support/new/",
        {
            "platform_username": staff.username,
            "scope": "settings",
            "reason": "Ticket 88: the purge hour",
            "hours": "2",
        },
    )
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        grant = SupportGrant.objects.get(platform_user_id=staff.pk)
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    listing = auditor.get("/support/")
    assert staff.username.encode() in listing.content
    detail = auditor.get(f"/support/{grant.pk}/")
    assert b"Ticket 88" in detail.content
    assert b"revoke-form" not in detail.content  # auditors read, administrators revoke
    assert auditor.post(f"/support/{grant.pk}/revoke/", {"reason": "x" * 5}).status_code == 403
    revoked = client.post(f"/support/{grant.pk}/revoke/", {"reason": "finished"})
    assert revoked.status_code == 302
    assert b"revoked" in client.get(f"/support/{grant.pk}/").content
    assert Client(HTTP_HOST="alpha.localhost").get("/support/").status_code == 302


def test_the_platform_finds_the_grants_naming_a_staff_member_in_each_agency(
    platform, agency_a, agency_b, staff
):
    grant_a = make_support_grant(agency_a, staff=staff, scope="settings")
    make_support_grant(agency_b, staff=make_platform_staff(), scope="settings")  # someone else
    page = verified_client(platform, staff).get("/support/")
    assert page.status_code == 200
    text = page.content.decode()
    assert agency_a.name in text
    assert f"#{grant_a.pk}" in text
    assert "alpha.localhost" in text
    assert agency_b.name not in text


def test_bad_input_on_the_grant_form_is_a_form_error_and_stores_nothing(agency_a, staff):
    client = verified_client(agency_a, make_user(agency_a, roles=[Role.ADMINISTRATOR]))
    for data in (
        {"platform_username": staff.username, "scope": "settings", "reason": "ab\x00cdefghijk"},
        {"platform_username": staff.username, "scope": "settings", "reason": "long enough"},
        {"platform_username": "x\x00", "scope": "read_only", "reason": "long enough", "hours": "1"},
    ):
        response = client.post("/support/new/", {"hours": "abc", **data})
        assert response.status_code == 200
        assert b"errorlist" in response.content or b"grant-error" in response.content
    with schema_context(agency_a.schema_name):
        assert not SupportGrant.objects.filter(platform_user_id=staff.pk).exists()


def test_a_grant_row_written_without_the_service_opens_nothing(agency_a, staff):
    """Whoever runs the database could insert a row; without its entry in the agency's
    hash-chained log (made by the service in the same transaction) it does not sign anyone in."""
    from tests.factories import DEFAULT_PASSWORD
    from tests.support import support_sign_in

    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    real = make_support_grant(agency_a, staff=make_platform_staff(), admin=admin)
    with schema_context(agency_a.schema_name):
        account = User.objects.get(pk=real.account_id)
        SupportGrant.objects.filter(pk=real.pk).update(revoked_at=timezone.now())
        forged = SupportGrant.objects.create(
            platform_user_id=staff.pk,
            platform_username=staff.username,
            scope="read_only",
            reason="inserted without the agency",
            granted_by=admin,
            expires_at=timezone.now() + datetime.timedelta(hours=2),
            account=make_user(agency_a, roles=[Role.OFFICER]),
        )
        from tenants.people.models import EncryptedTOTPDevice
        from tenants.support.services import SUPPORT_DEVICE_NAME

        device = EncryptedTOTPDevice(user_id=forged.account_id, name=SUPPORT_DEVICE_NAME)
        device.confirmed = True
        device.set_new_secret()
        device.save()
    assert account.pk != forged.account_id
    client = Client(HTTP_HOST="alpha.localhost")
    response = support_sign_in(client, staff.username, DEFAULT_PASSWORD, staff.secret)
    assert b"Support sign-in refused" in response.content
    assert client.get("/support/session/").status_code == 302
    (refused,) = events(
        agency_a, action=Action.LOGIN_FAILED, actor_username=f"platform:{staff.username}"
    )
    assert "no support_granted entry" in refused.reason
