"""manage.py create_user: provisioning a user in an agency."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.people.models import EncryptedTOTPDevice, TrainingRecord
from tenants.people.roles import Role, user_roles
from tests.factories import unique
from tests.support import code_for, password_step

pytestmark = pytest.mark.django_db


def run(*args, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("create_user", *args, stdout=out)
    return out.getvalue()


def test_creates_a_trained_user_with_an_authenticator(agency_a, monkeypatch):
    username = unique("prov")
    password = "granite-meadow-kettle-31"
    out = run(
        "--agency", "alpha", "--username", username, "--email", f"{username}@alpha.invalid",
        "--role", "officer", "--role", "Auditor", "--trained-on", "2026-10-01",
        "--password-stdin", "--enrol-totp",
        stdin=password + "\n", monkeypatch=monkeypatch,
    )  # fmt: skip
    secrets = re.findall(r"^totp_secret=([A-Z2-7]+)$", out, flags=re.M)
    assert len(secrets) == 1
    assert "password=" not in out  # the password came from stdin: not echoed
    with schema_context(agency_a.schema_name):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username=username)
        assert user_roles(user) == {Role.OFFICER, Role.AUDITOR}
        assert TrainingRecord.objects.get(user=user).completed_on.isoformat() == "2026-10-01"
        device = EncryptedTOTPDevice.objects.get(user=user)
        assert device.confirmed
        assert secrets[0] not in device.sealed_key
        actions = set(AccessEvent.objects.filter(details__username=username).values_list(
            "action", flat=True))  # fmt: skip
        assert {"user_created", "training_changed", "mfa_enrolled"} <= actions
    client = Client(HTTP_HOST="alpha.localhost")
    first = password_step(client, username, password)
    assert "/accounts/login/code/" in first["Location"]
    assert client.post(first["Location"], {"code": code_for(secrets[0])}).status_code == 302
    assert client.get("/").status_code == 200


def test_generated_password_is_printed_once(agency_a):
    username = unique("prov")
    out = run("--agency", "alpha", "--username", username, "--email", "x@alpha.invalid",
              "--role", "auditor")  # fmt: skip
    assert len(re.findall(r"^password=\S{20,}$", out, flags=re.M)) == 1
    assert "totp_secret" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agency", "nowhere"], "No agency with the slug 'nowhere'"),
        (["--role", "sheriff"], "Unknown role 'sheriff'"),
        (["--trained-on", "yesterday"], "--trained-on must be a date"),
        (["--email", "not-an-email"], "Invalid email"),
        (["--username", "bad name!"], "Invalid username"),
    ],
)
def test_clear_errors(agency_a, args, message):
    base = {"--agency": "alpha", "--username": unique("prov"), "--email": "a@alpha.invalid",
            "--role": "officer"}  # fmt: skip
    overrides = dict(zip(args[::2], args[1::2], strict=True))
    argv = [item for key, value in {**base, **overrides}.items() for item in (key, value)]
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*argv)


def test_duplicate_username_and_weak_password_are_refused(agency_a, monkeypatch):
    username = unique("prov")
    run("--agency", "alpha", "--username", username, "--email", "a@alpha.invalid",
        "--role", "officer")  # fmt: skip
    with pytest.raises(CommandError, match="already exists"):
        run("--agency", "alpha", "--username", username, "--email", "a@alpha.invalid",
            "--role", "officer")  # fmt: skip
    with pytest.raises(CommandError, match="too short"):
        run("--agency", "alpha", "--username", unique("prov"), "--email", "a@alpha.invalid",
            "--role", "officer", "--password-stdin", stdin="short\n",
            monkeypatch=monkeypatch)  # fmt: skip
