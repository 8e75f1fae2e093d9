"""The demo's authenticator codes: what an app holding a demo user's secret shows now.

Development only, demo agency (and the demo's platform staff member) only; see
``manage.py demo_code``. The sign-in flow itself is unchanged.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django_otp.oath import TOTP
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.people.services import confirmed_totp_device

from . import DEMO_SLUG, DEMO_STAFF, DEMO_USERS


def current_code(*, username: str, env: str, agency_slug: str = DEMO_SLUG) -> str:
    """The code now, or CommandError saying why not."""
    if env != "development":
        raise CommandError(f"demo_code runs only in development (ALPR_ENV is {env!r}).")
    if agency_slug != DEMO_SLUG:
        raise CommandError(f"demo_code serves only the demo agency ({DEMO_SLUG!r}).")
    if username == DEMO_STAFF[0]:
        schema = "public"
    elif username in {u for u, *_ in DEMO_USERS}:
        agency = Agency.objects.filter(slug=DEMO_SLUG).first()
        if agency is None:
            raise CommandError("There is no demo agency; run `make demo` (or manage.py seed_demo).")
        schema = agency.schema_name
    else:
        names = ", ".join([u for u, *_ in DEMO_USERS] + [DEMO_STAFF[0]])
        raise CommandError(f"{username!r} is not a demo user (demo users: {names}).")
    with schema_context(schema):
        user = get_user_model().objects.filter(username=username).first()
        device = confirmed_totp_device(user) if user is not None else None
        if device is None:
            raise CommandError(f"{username!r} has no authenticator; run manage.py seed_demo.")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        return f"{totp.token():0{device.digits}d}"
