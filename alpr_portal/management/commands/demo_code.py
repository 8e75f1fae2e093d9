"""Print the current authenticator code of a demo user (development only).

The demo's users get an authenticator when the demo is seeded; this prints the 6-digit code
an app holding that secret would show now, so a newcomer can try each role without enrolling
three phones. Refused unless the portal runs in development and the user belongs to the demo
agency (or is the demo's platform staff member). The sign-in flow itself is unchanged.

    python manage.py demo_code --user officer
    python manage.py demo_code --user platform
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import TOTP
from django_tenants.utils import schema_context

from alpr_portal.demo import DEMO_SLUG, DEMO_STAFF, DEMO_USERS
from tenants.models import Agency
from tenants.people.services import confirmed_totp_device


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


class Command(BaseCommand):
    help = "Print a demo user's current authenticator code (development, demo agency only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="a demo username, e.g. officer")
        parser.add_argument("--agency", default=DEMO_SLUG, help="must be the demo agency")

    def handle(self, *args: object, **options: object) -> None:
        code = current_code(
            username=str(options["user"]),
            env=settings.ALPR_ENV,
            agency_slug=str(options["agency"]),
        )
        self.stdout.write(code)
