"""Signing in through the real pages, and computing codes as an authenticator app would."""

from __future__ import annotations

import re
import time
from base64 import b32decode

from django.test import Client
from django_otp.oath import TOTP
from django_tenants.utils import schema_context

from tenants.people.models import EncryptedTOTPDevice

SECRET_RE = re.compile(r'data-secret="([A-Z2-7]+)"')


def code_for(secret_b32: str, *, at: float | None = None) -> str:
    totp = TOTP(b32decode(secret_b32))
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def enrolled_secret(agency, user) -> str:
    """Give ``user`` a confirmed authenticator; returns its base32 secret (as an app holds it)."""
    with schema_context(agency.schema_name):
        EncryptedTOTPDevice.objects.filter(user=user).delete()
        device = EncryptedTOTPDevice(user=user, name="phone", confirmed=True)
        device.set_new_secret()
        device.save()
        return device.secret_base32


def password_step(client: Client, username: str, password: str, *, next_url: str | None = None):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def code_step(client: Client, code: str):
    return client.post("/accounts/login/code/", {"code": code})


def sign_in(client: Client, username: str, password: str, secret: str, *, at=None):
    """Both steps; returns the response of the code step."""
    first = password_step(client, username, password)
    assert first.status_code == 302 and "/accounts/login/code/" in first["Location"], first
    return code_step(client, code_for(secret, at=at))
