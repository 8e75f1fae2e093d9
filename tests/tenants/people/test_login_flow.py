"""Sign-in: password, then a code; first sign-in enrols an authenticator app."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.people.models import EncryptedTOTPDevice
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import (
    SECRET_RE,
    code_for,
    code_step,
    enrolled_secret,
    events,
    password_step,
    sign_in,
)

pytestmark = pytest.mark.django_db


def test_first_sign_in_enrols_then_reaches_home(agency_a, client_a):
    user = make_user(agency_a)
    response = password_step(client_a, user.username, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/enrol/")
    # Password alone does not sign in.
    assert client_a.get("/").status_code == 302

    page = client_a.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # QR rendered by the server, no external service
    secret = SECRET_RE.search(html).group(1)
    assert len(secret) == 32

    wrong = client_a.post("/accounts/login/enrol/", {"code": "000000"})
    assert wrong.status_code == 200
    assert b"not right or has expired" in wrong.content

    confirmed = client_a.post("/accounts/login/enrol/", {"code": code_for(secret)})
    assert confirmed.status_code == 302
    assert confirmed["Location"].startswith("/accounts/backup-codes/")
    codes_page = client_a.get(confirmed["Location"])
    codes = [c for c in codes_page.content.decode().split("<code>")[1:]]
    assert len(codes) == 10
    # Shown once.
    assert b"<code>" not in client_a.get("/accounts/backup-codes/").content
    home = client_a.get("/")
    assert home.status_code == 200
    assert user.username.encode() in home.content

    assert [e.action for e in events(agency_a, actor_id=user.pk)] == ["mfa_enrolled", "login"]
    failed = events(agency_a, action="login_failed", actor_username=user.username)
    assert [e.reason for e in failed] == ["wrong enrolment code"]


def test_secret_is_stored_sealed_not_as_hex(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    with schema_context(agency_a.schema_name):
        device = EncryptedTOTPDevice.objects.get(user=user)
        from base64 import b32decode

        raw = b32decode(secret)
        assert raw.hex() not in device.sealed_key
        assert secret not in device.sealed_key
        # The format names the master key that sealed it (for rotation), never the key itself.
        from tenants import keyring

        assert device.sealed_key.startswith(f"v2:{keyring.current_key_id()}:")
        assert device.bin_key == raw


def test_replayed_code_is_refused(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    now = time.time()
    assert sign_in(client_a, user.username, DEFAULT_PASSWORD, secret, at=now).status_code == 302
    other = Client(HTTP_HOST="alpha.localhost")
    password_step(other, user.username, DEFAULT_PASSWORD)
    replay = code_step(other, code_for(secret, at=now))
    assert replay.status_code == 200
    assert b"already used" in replay.content
    assert "_auth_user_id" not in other.session
    assert events(agency_a, action="login_failed", actor_username=user.username)[-1].reason == (
        "code already used"
    )


def test_expired_and_malformed_codes_are_refused_with_a_message(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    password_step(client_a, user.username, DEFAULT_PASSWORD)
    for bad in [code_for(secret, at=time.time() - 300), "12ab56", "1" * 40, ""]:
        response = code_step(client_a, bad)
        assert response.status_code == 200
        assert b"code" in response.content
        assert "_auth_user_id" not in client_a.session
    assert code_step(client_a, code_for(secret)).status_code == 302


def test_backup_code_works_once(agency_a, client_a):
    user = make_user(agency_a)
    enrolled_secret(agency_a, user)
    from tenants.people.services import backup_codes_regenerate

    with schema_context(agency_a.schema_name):
        code = backup_codes_regenerate(user=user)[0]
    password_step(client_a, user.username, DEFAULT_PASSWORD)
    assert code_step(client_a, code).status_code == 302
    with schema_context(agency_a.schema_name):
        stored = list(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
        assert len(stored) == 9
        assert code not in stored  # stored as keyed hashes, not the codes
    again = Client(HTTP_HOST="alpha.localhost")
    password_step(again, user.username, DEFAULT_PASSWORD)
    assert code_step(again, code).status_code == 200


def test_code_step_without_password_step_restarts(client_a, agency_a):
    response = client_a.post("/accounts/login/code/", {"code": "123456"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert b"expired or was not started" in client_a.get("/accounts/login/").content


def test_pending_password_step_expires(agency_a, client_a):
    import time_machine

    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    with time_machine.travel(time.time(), tick=False) as traveller:
        password_step(client_a, user.username, DEFAULT_PASSWORD)
        traveller.shift(6 * 60)
        response = code_step(client_a, code_for(secret))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client_a.session


def test_wrong_password_and_unknown_user_are_logged_without_the_password(agency_a, client_a):
    user = make_user(agency_a)
    secret_password = "not-the-password-xyz-123"
    bad = password_step(client_a, user.username, secret_password)
    assert bad.status_code == 200
    assert b"username or password is not right" in bad.content
    password_step(client_a, "nobody-here", secret_password)
    failed = events(agency_a, action="login_failed")
    reasons = {e.actor_username: e.reason for e in failed}
    assert reasons[user.username] == "wrong password"
    assert reasons["nobody-here"] == "unknown username"
    with schema_context(agency_a.schema_name):
        for event in AccessEvent.objects.all():
            assert secret_password not in repr(event.__dict__)
            assert DEFAULT_PASSWORD not in repr(event.__dict__)


def test_inactive_user_cannot_sign_in(agency_a, client_a):
    user = make_user(agency_a, is_active=False)
    enrolled_secret(agency_a, user)
    response = password_step(client_a, user.username, DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert b"deactivated" in response.content
    assert events(agency_a, action="login_failed", actor_username=user.username)[-1].reason == (
        "inactive account"
    )


def test_next_is_kept_and_foreign_next_is_ignored(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    now = time.time()
    first = password_step(client_a, user.username, DEFAULT_PASSWORD, next_url="/accounts/me/")
    assert "next=%2Faccounts%2Fme%2F" in first["Location"]
    done = client_a.post(first["Location"], {"code": code_for(secret, at=now)})
    assert done["Location"] == "/accounts/me/"

    other = Client(HTTP_HOST="alpha.localhost")
    first = password_step(other, user.username, DEFAULT_PASSWORD, next_url="https://evil.example/")
    done = other.post(first["Location"], {"code": code_for(secret, at=now + 30)})
    assert done["Location"] == "/"


def test_logout_ends_the_session(agency_a, client_a):
    user = make_user(agency_a)
    secret = enrolled_secret(agency_a, user)
    sign_in(client_a, user.username, DEFAULT_PASSWORD, secret)
    session_key = client_a.cookies["sessionid"].value
    assert client_a.get("/").status_code == 200
    assert client_a.get("/accounts/logout/").status_code == 405  # sign-out is a POST
    response = client_a.post("/accounts/logout/")
    assert response.status_code == 302
    from django.contrib.sessions.models import Session

    with schema_context(agency_a.schema_name):
        assert not Session.objects.filter(session_key=session_key).exists()
    stale = Client(HTTP_HOST="alpha.localhost")
    stale.cookies["sessionid"] = session_key
    assert stale.get("/").status_code == 302
    assert events(agency_a, action="logout", actor_id=user.pk)


def test_platform_staff_sign_in_with_a_second_factor_on_the_platform_host(db):
    from tenants.models import Agency

    platform = Agency.objects.get(schema_name="public")
    staff = make_user(platform, roles=[], trained=False)
    staff.is_staff = True
    staff.save()
    client = Client(HTTP_HOST="localhost")
    first = password_step(client, staff.username, DEFAULT_PASSWORD)
    assert first["Location"].startswith("/accounts/login/enrol/")
    secret = SECRET_RE.search(client.get(first["Location"]).content.decode()).group(1)
    assert client.get("/admin/").status_code == 302  # not yet
    done = client.post("/accounts/login/enrol/", {"code": code_for(secret)})
    assert done.status_code == 302
    assert client.get("/admin/").status_code == 200
    # The platform's own access log has the events.
    assert AccessEvent.objects.filter(actor_id=staff.pk, action="login").exists()
