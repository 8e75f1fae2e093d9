"""Production settings fail loudly on bad values and pass Django's deployment checks."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _signing_key_file() -> str:
    """An Ed25519 key for the access-log checkpoints, made for this test run."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    path = Path(tempfile.mkdtemp(prefix="alpr-settings-test-")) / "audit-signing.pem"
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return str(path)


PRODUCTION_ENV = {
    "ALPR_ENV": "production",
    "DEBUG": "false",
    "SECRET_KEY": "k3y-" + "".join(chr(97 + (i * 7) % 26) for i in range(60)),
    "ALLOWED_HOSTS": ".alpr.example.org",
    "DATABASE_URL": "postgres://alpr@db.internal:5432/alpr",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ALPR_MASTER_KEY": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "CSRF_TRUSTED_ORIGINS": "https://*.alpr.example.org",
    "ALPR_AUDIT_SIGNING_KEY_FILE": _signing_key_file(),
}


def _run(env_overrides: dict[str, str | None], *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and not k.startswith("ALPR_")
    }
    env["DJANGO_SETTINGS_MODULE"] = "alpr_portal.settings"
    for key, value in {**PRODUCTION_ENV, **env_overrides}.items():
        if value is not None:
            env[key] = value
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_values():
    result = _run({}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


COOKIES = """
import json
from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.test import RequestFactory

def view(request):
    get_token(request)
    return HttpResponse()

response = CsrfViewMiddleware(view)(RequestFactory().get("/", secure=True))
names = ["SESSION_COOKIE_NAME", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_PATH",
         "SESSION_COOKIE_DOMAIN", "CSRF_COOKIE_NAME", "CSRF_COOKIE_SECURE", "CSRF_COOKIE_PATH",
         "CSRF_COOKIE_DOMAIN"]
print(json.dumps({
    **{name: getattr(settings, name) for name in names},
    "csrf_set_cookie": response.cookies[settings.CSRF_COOKIE_NAME].output(),
}))
"""


def test_production_cookies_are_host_prefixed():
    """__Host- cookies are taken by browsers only with Secure, Path=/ and no Domain."""
    result = _run({}, "shell", "-c", COOKIES)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert found["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    for kind in ("SESSION", "CSRF"):
        assert found[f"{kind}_COOKIE_SECURE"] is True
        assert found[f"{kind}_COOKIE_PATH"] == "/"
        assert found[f"{kind}_COOKIE_DOMAIN"] is None
    header = found["csrf_set_cookie"]
    assert header.startswith("Set-Cookie: __Host-csrftoken=")
    assert "; Secure" in header
    assert "Path=/;" in header
    assert "Domain" not in header


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"REDIS_URL": None}, "REDIS_URL"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ({"ALPR_MASTER_KEY": None}, "ALPR_MASTER_KEY"),
        ({"ALPR_MASTER_KEY": "not-a-key"}, "ALPR_MASTER_KEY"),
        (
            {"ALPR_MASTER_KEY_FILE": "/nonexistent/key", "ALPR_MASTER_KEY": None},
            "ALPR_MASTER_KEY_FILE",
        ),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "true"}, "DEBUG"),
        ({"ALPR_SESSION_IDLE_SECONDS": "ten"}, "ALPR_SESSION_IDLE_SECONDS"),
        ({"ALPR_AUDIT_SIGNING_KEY_FILE": None}, "ALPR_AUDIT_SIGNING_KEY_FILE"),
        ({"ALPR_AUDIT_SIGNING_KEY_FILE": "/nonexistent/key.pem"}, "ALPR_AUDIT_SIGNING_KEY_FILE"),
        ({"ALPR_AUDIT_SIGNING_KEY_FILE": __file__}, "ALPR_AUDIT_SIGNING_KEY_FILE"),
        ({"ALPR_CAMERA_RATE": "fast"}, "ALPR_CAMERA_RATE"),
        ({"ALPR_REVIEW_SESSION_SECONDS": "soon"}, "ALPR_REVIEW_SESSION_SECONDS"),
        ({"ALPR_CAMERA_FAILURE_RATE": "10/week"}, "ALPR_CAMERA_FAILURE_RATE"),
    ],
)
def test_missing_or_malformed_production_value_fails_at_start(overrides, variable):
    result = _run(overrides, "check")
    assert result.returncode != 0
    assert "ConfigError" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_master_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "master.key"
    key_file.write_text(PRODUCTION_ENV["ALPR_MASTER_KEY"])
    result = _run({"ALPR_MASTER_KEY": None, "ALPR_MASTER_KEY_FILE": str(key_file)}, "check")
    assert result.returncode == 0, result.stderr
