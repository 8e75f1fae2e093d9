"""Seed the demo: the platform host, agency ``demo`` at demo.localhost, three users, a platform
staff member and the demo data of every app (see ``alpr_portal.demo``).

Safe to re-run: nothing is duplicated, existing users keep their second factor. How to sign in
goes to ``--sign-in-file`` (mode 600), which ``make demo`` prints once the portal runs.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from alpr_portal.demo import PARTS, seed_demo

DEFAULT_SIGN_IN_FILE = Path(settings.BASE_DIR) / "var" / "demo-sign-in.txt"


class Command(BaseCommand):
    help = "Create (or refresh) the demo agency and its users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default="8000")
        parser.add_argument(
            "--sign-in-file",
            default=str(DEFAULT_SIGN_IN_FILE),
            help="where the demo users' sign-in details are written (mode 600)",
        )
        parser.add_argument(
            "--part",
            choices=PARTS,
            default="all",
            help="first: what the first pages need and the sign-in file; rest: the captures, "
            "reviewed reads and purge (make demo runs it once the portal is up); all: both",
        )

    def handle(self, *args: object, **options: object) -> None:
        seed_demo(
            port=str(options["port"]),
            stdout=self.stdout,
            sign_in_file=Path(str(options["sign_in_file"])),
            part=str(options["part"]),
        )
