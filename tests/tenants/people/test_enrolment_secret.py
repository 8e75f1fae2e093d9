"""Every sign-in that reaches enrolment gets its own authenticator secret.

Whoever passes the password step sees the secret on the enrolment page; if it were kept for
the next sign-in, someone who once knew the password would hold the real user's second factor.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.people.models import EncryptedTOTPDevice
from tenants.people.services import ENROLMENT_REPLACED
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import SECRET_RE, code_for, code_step, password_step

pytestmark = pytest.mark.django_db

ENROL = "/accounts/login/enrol/"


def _reach_enrolment(client: Client, username: str) -> str:
    response = password_step(client, username, DEFAULT_PASSWORD)
    assert response["Location"].startswith(ENROL)
    return SECRET_RE.search(client.get(ENROL).content.decode()).group(1)


def test_a_later_sign_in_gets_a_new_secret_and_the_old_one_stops_working(agency_a):
    user = make_user(agency_a)
    first = Client(HTTP_HOST="alpha.localhost")
    first_secret = _reach_enrolment(first, user.username)
    # Reloading the page within the same sign-in shows the same code to scan.
    again = SECRET_RE.search(first.get(ENROL).content.decode()).group(1)
    assert again == first_secret

    second = Client(HTTP_HOST="alpha.localhost")
    second_secret = _reach_enrolment(second, user.username)
    assert second_secret != first_secret
    with schema_context(agency_a.schema_name):
        pending = list(EncryptedTOTPDevice.objects.filter(user=user))
    assert len(pending) == 1
    assert not pending[0].confirmed
    assert pending[0].secret_base32 == second_secret  # the first one is gone

    # The first sign-in's (right) code for its own, replaced secret no longer works.
    refused = first.post(ENROL, {"code": code_for(first_secret)})
    assert refused.status_code == 302
    assert refused["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in first.session
    assert b"replaced by a later sign-in" in first.get("/accounts/login/").content
    with schema_context(agency_a.schema_name):
        entry = AccessEvent.objects.filter(actor_username=user.username).latest("id")
        assert (entry.action, entry.reason) == ("login_failed", ENROLMENT_REPLACED)
        assert not EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).exists()

    confirmed = second.post(ENROL, {"code": code_for(second_secret)})
    assert confirmed.status_code == 302
    assert confirmed["Location"].startswith("/accounts/backup-codes/")
    with schema_context(agency_a.schema_name):
        device = EncryptedTOTPDevice.objects.get(user=user)
        assert device.confirmed
        assert device.secret_base32 == second_secret

    # Later sign-ins go to the code step; a code of the first secret is wrong there too.
    third = Client(HTTP_HOST="alpha.localhost")
    assert (
        "/accounts/login/code/" in password_step(third, user.username, DEFAULT_PASSWORD)["Location"]
    )
    assert b"not right" in code_step(third, code_for(first_secret)).content
    assert "_auth_user_id" not in third.session


def test_an_abandoned_enrolment_is_not_shown_to_the_next_sign_in(agency_a):
    user = make_user(agency_a)
    abandoned = _reach_enrolment(Client(HTTP_HOST="alpha.localhost"), user.username)
    fresh = _reach_enrolment(Client(HTTP_HOST="alpha.localhost"), user.username)
    assert fresh != abandoned
    with schema_context(agency_a.schema_name):
        assert EncryptedTOTPDevice.objects.filter(user=user).count() == 1
