"""``manage.py demo_code``: the current authenticator code of a demo user, in development only;
the code it prints passes the real sign-in page."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import schema_context

from alpr_portal.demo import DEMO_USERS
from alpr_portal.demo.codes import current_code
from tests.support import code_step, password_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    from alpr_portal.demo import cameras, reviews

    settings.ALPR_STORAGE_DIR = tmp_path
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cameras, "DEMO_CAPTURES", 0)
        patch.setattr(reviews, "DEMO_READ", 0)
        call_command(  # what `make demo` seeds before the portal starts
            "seed_demo",
            "--part",
            "first",
            "--sign-in-file",
            str(tmp_path / "sign-in.txt"),
            stdout=io.StringIO(),
        )
    from tenants.models import Agency

    return Agency.objects.get(slug="demo")


def test_the_printed_code_signs_the_demo_officer_in(demo, settings):
    settings.ALPR_ENV = "development"
    out = io.StringIO()
    call_command("demo_code", "--user", "officer", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6
    assert code.isdigit()
    password = dict((u, p) for u, _, _, p in DEMO_USERS)["officer"]
    client = Client(HTTP_HOST="demo.localhost")
    response = password_step(client, "officer", password)
    assert response.status_code == 302
    response = code_step(client, code)
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.get("/").status_code == 200


# One seeded demo agency per test (an agency's schema and its migrations, seconds each): the
# cases that only read it share one.


def test_platform_staff_code_and_the_bare_address(demo):
    """Platform staff's code comes from the public schema; the bare address opens the platform's
    landing page, which lists the demo agency."""
    from django_otp.oath import TOTP

    from tenants.people.models import EncryptedTOTPDevice

    code = current_code(username="platform", env="development")
    with schema_context("public"):
        device = EncryptedTOTPDevice.objects.get(user__username="platform", confirmed=True)
        assert code == f"{TOTP(device.bin_key).token():06d}"
    response = Client(HTTP_HOST="127.0.0.1:8000").get("/")
    assert response.status_code == 200
    assert "Demo Police Department" in response.content.decode()


REFUSALS = [
    ("officer", "production", "demo", "only in development"),
    ("officer", "test", "demo", "only in development"),
    ("officer", "development", "alpha", "only the demo agency"),
    ("chief", "development", "demo", "not a demo user"),
]


def test_refused_outside_development_the_demo_agency_or_its_users(demo):
    for username, env, agency, message in REFUSALS:
        with pytest.raises(CommandError, match=message):
            current_code(username=username, env=env, agency_slug=agency)
    # The command itself under the test settings (ALPR_ENV=test).
    with pytest.raises(CommandError, match="only in development"):
        call_command("demo_code", "--user", "officer", stdout=io.StringIO())
