"""Seed the demo: the platform host, agency ``demo`` at demo.localhost, three users and the
demo data of every app (see ``alpr_portal.demo``).

Safe to re-run: nothing is duplicated, existing users keep their second factor.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from alpr_portal.demo import seed_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo agency and its users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default="8000")

    def handle(self, *args: object, **options: object) -> None:
        seed_demo(port=str(options["port"]), stdout=self.stdout)
