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
from django.core.management.base import BaseCommand, CommandParser

from alpr_portal.demo import DEMO_SLUG
from alpr_portal.demo.codes import current_code


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
