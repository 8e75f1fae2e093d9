"""Support sign-in on the agency's host (the platform's password and code, an active grant naming
the person), the support session's marking in the access log, expiry and revocation mid-session."""

from __future__ import annotations

import datetime
import time

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action, Outcome
from tenants.people.models import LoginLock
from tenants.people.roles import Role
from tenants.support.models import SupportGrant
from tenants.support.services import grant_revoke
from tests.factories import DEFAULT_PASSWORD, make_support_grant, make_user
from tests.support import details_of, events, password_step, support_sign_in, verified_client


def _signed_in(agency, staff, grant) -> Client:
    client = Client(HTTP_HOST=f"{agency.slug}.localhost")
    response = support_sign_in(client, staff.username, DEFAULT_PASSWORD, staff.secret)
    assert response.status_code == 302, response.content[:400]
    assert response["Location"] == "/support/session/"
    return client


def test_support_sign_in_starts_a_marked_session_of_the_grant(agency_a, staff):
    grant = make_support_grant(agency_a, staff=staff, scope="settings")
    client = _signed_in(agency_a, staff, grant)
    page = client.get("/support/session/")
    assert page.status_code == 200
    assert f"support grant #{grant.pk}".encode() in page.content

    (login,) = events(agency_a, action=Action.LOGIN, actor_id=grant.account_id)
    assert login.details["support"] is True
    assert login.details["support_grant"] == grant.pk
    assert login.details["platform_username"] == staff.username
    assert login.details["second_factor"] == "platform totp"
    (copy,) = events_public(action=Action.SUPPORT_SIGN_IN, actor_username=staff.username)
    assert details_of(copy) == {"agency": "alpha", "support_grant": grant.pk, "scope": "settings"}


def events_public(**filters) -> list[AccessEvent]:
    with schema_context("public"):
        return list(AccessEvent.objects.filter(**filters).order_by("id"))


def test_every_entry_of_the_session_is_marked_with_the_grant(agency_a, staff):
    grant = make_support_grant(agency_a, staff=staff, scope="settings")
    first_id = events(agency_a)[-1].id
    client = _signed_in(agency_a, staff, grant)
    for path in ("/support/session/", "/admin/", "/admin/auth/user/", "/audit/"):
        client.get(path)
    client.post("/accounts/logout/")
    written = [e for e in events(agency_a) if e.id > first_id]
    session_entries = [e for e in written if e.action != Action.SUPPORT_GRANTED]
    assert {e.action for e in session_entries} >= {
        Action.LOGIN,
        Action.SUPPORT_REQUEST,
        Action.LOGOUT,
    }
    for entry in session_entries:
        assert entry.details.get("support") is True, entry
        assert entry.details.get("support_grant") == grant.pk, entry
    requests = [e for e in session_entries if e.action == Action.SUPPORT_REQUEST]
    paths = {(e.details["path"], e.outcome) for e in requests}
    assert ("/admin/", Outcome.ALLOWED) in paths
    assert ("/admin/auth/user/", Outcome.REFUSED) in paths
    assert ("/audit/", Outcome.REFUSED) in paths


def test_wrong_code_is_refused_counted_on_the_platform_and_logged_here(agency_a, staff):
    make_support_grant(agency_a, staff=staff)
    client = Client(HTTP_HOST="alpha.localhost")
    response = client.post(
        "/support/sign-in/",
        {"username": staff.username, "password": DEFAULT_PASSWORD, "code": "000000"},
    )
    assert response.status_code == 200
    assert b"Support sign-in refused" in response.content
    assert client.get("/support/session/").status_code == 302
    with schema_context("public"):
        assert LoginLock.objects.get(username=staff.username).failures == 1
    (entry,) = events(
        agency_a, action=Action.LOGIN_FAILED, actor_username=f"platform:{staff.username}"
    )
    assert entry.reason == "wrong code"
    assert entry.details["support"] is True


def test_no_grant_no_sign_in(agency_a, staff):
    client = Client(HTTP_HOST="alpha.localhost")
    response = support_sign_in(client, staff.username, DEFAULT_PASSWORD, staff.secret)
    assert response.status_code == 200
    assert b"Support sign-in refused" in response.content
    (entry,) = events(
        agency_a, action=Action.LOGIN_FAILED, actor_username=f"platform:{staff.username}"
    )
    assert entry.reason == "no active support grant"


def test_a_grant_of_agency_b_does_not_open_agency_a(agency_a, agency_b, staff):
    make_support_grant(agency_b, staff=staff)
    client = Client(HTTP_HOST="alpha.localhost")
    response = support_sign_in(client, staff.username, DEFAULT_PASSWORD, staff.secret)
    assert b"Support sign-in refused" in response.content
    assert client.get("/support/session/").status_code == 302


def test_an_expired_grant_refuses_sign_in_and_ends_its_session_at_once(agency_a, staff):
    grant = make_support_grant(agency_a, staff=staff)
    client = _signed_in(agency_a, staff, grant)
    assert client.get("/admin/").status_code == 200
    with schema_context(agency_a.schema_name):  # the clock passes its end (moving it earlier)
        SupportGrant.objects.filter(pk=grant.pk).update(
            expires_at=grant.granted_at + datetime.timedelta(microseconds=1)
        )
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(("/accounts/login/", "/admin/login/"))
    assert client.get("/support/session/").status_code == 302
    (logout,) = events(agency_a, action=Action.LOGOUT, actor_id=grant.account_id)
    assert logout.reason == "support grant expired"
    assert logout.details["support_grant"] == grant.pk
    again = Client(HTTP_HOST="alpha.localhost")
    response = support_sign_in(
        again, staff.username, DEFAULT_PASSWORD, staff.secret, at=time.time() + 30
    )
    assert b"Support sign-in refused" in response.content


def test_revoking_mid_session_stops_it_on_the_next_request(agency_a, staff):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    grant = make_support_grant(agency_a, staff=staff, admin=admin)
    client = _signed_in(agency_a, staff, grant)
    assert client.get("/admin/").status_code == 200
    admin_client = verified_client(agency_a, admin)
    assert admin_client.post(f"/support/{grant.pk}/revoke/", {"reason": "done"}).status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "login" in response["Location"]
    (entry,) = events(
        agency_a, action=Action.SUPPORT_REVOKED, details__platform_username=staff.username
    )
    assert entry.details["sessions_ended"] == 1


def test_a_revocation_that_leaves_the_session_row_still_ends_it(agency_a, staff):
    """Even with its session row in place (revoked by SQL, say), the next request signs out."""
    grant = make_support_grant(agency_a, staff=staff)
    client = _signed_in(agency_a, staff, grant)
    with schema_context(agency_a.schema_name):
        SupportGrant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())
    assert client.get("/admin/").status_code == 302
    (logout,) = events(agency_a, action=Action.LOGOUT, actor_id=grant.account_id)
    assert logout.reason == "support grant revoked"


def test_the_support_account_cannot_sign_in_any_other_way(agency_a, staff):
    grant = make_support_grant(agency_a, staff=staff)
    with schema_context(agency_a.schema_name):
        account = User.objects.get(pk=grant.account_id)
    response = password_step(Client(HTTP_HOST="alpha.localhost"), account.username, "")
    assert response.status_code == 200  # no usable password
    # A session of the account made without support sign-in (no grant marking) is ended.
    forced = verified_client(agency_a, account)
    response = forced.get("/admin/")
    assert response.status_code == 302
    (logout,) = events(agency_a, action=Action.LOGOUT, actor_id=account.pk)
    assert logout.reason == "support account signed in without support sign-in"


def test_revoke_service_and_page_agree_on_what_ended(agency_a, staff):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    grant = make_support_grant(agency_a, staff=staff, admin=admin)
    _signed_in(agency_a, staff, grant).get("/support/session/")
    with schema_context(agency_a.schema_name):
        assert grant_revoke(grant=grant, actor=admin, reason="ticket closed") == 1
    page = verified_client(agency_a, admin).get(f"/support/{grant.pk}/")
    assert b"ticket closed" in page.content
    assert b"What was done under this grant" in page.content
    assert b"/support/session/" in page.content  # the request the session made is listed


def test_a_reset_second_factor_of_the_account_refuses_sign_in_plainly(agency_a, staff):
    from tenants.people.models import EncryptedTOTPDevice

    grant = make_support_grant(agency_a, staff=staff)
    with schema_context(agency_a.schema_name):
        EncryptedTOTPDevice.objects.filter(user_id=grant.account_id).delete()
    client = Client(HTTP_HOST="alpha.localhost")
    response = support_sign_in(client, staff.username, DEFAULT_PASSWORD, staff.secret)
    assert response.status_code == 200
    assert b"Support sign-in refused" in response.content
    (entry,) = events(
        agency_a, action=Action.LOGIN_FAILED, actor_username=f"platform:{staff.username}"
    )
    assert "no second factor" in entry.reason


def test_the_grant_page_pages_through_what_was_done(agency_a, staff, monkeypatch):
    from tenants.support import selectors

    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    grant = make_support_grant(agency_a, staff=staff, admin=admin)
    client = _signed_in(agency_a, staff, grant)
    for _ in range(4):
        client.get("/support/session/")
    marked = events(agency_a, actor_id=grant.account_id, details__support_grant=grant.pk)
    assert len(marked) == 5  # the sign-in and four pages
    reader = verified_client(agency_a, admin)
    first = reader.get(f"/support/{grant.pk}/")
    assert b"5 access-log entries" in first.content
    assert f'?after={marked[2].id}"'.encode() in first.content
    rest = reader.get(f"/support/{grant.pk}/?after={marked[2].id}")
    assert f"/audit/events/{marked[3].id}/".encode() in rest.content
    assert f"/audit/events/{marked[1].id}/".encode() not in rest.content
    assert reader.get(f"/support/{grant.pk}/?after=x%00").status_code in (200, 400)


def test_an_idle_support_session_ends_and_its_sign_out_is_marked(agency_a, staff):
    from tenants.people.services import SESSION_SEEN_AT

    grant = make_support_grant(agency_a, staff=staff)
    client = _signed_in(agency_a, staff, grant)
    with schema_context(agency_a.schema_name):
        session = client.session
        session[SESSION_SEEN_AT] = time.time() - 2 * 3600
        session.save()
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "login" in response["Location"]
    (logout,) = events(agency_a, action=Action.LOGOUT, actor_id=grant.account_id)
    assert logout.reason == "idle timeout"
    assert logout.details["support_grant"] == grant.pk
