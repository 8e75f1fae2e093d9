"""Seed the demo: the platform host, agency ``demo`` at demo.localhost, three users and the
demo data of every app (see ``alpr_portal.demo``).

Safe to re-run: nothing is duplicated, existing users keep their second factor.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from alpr_portal.demo import seed_demo
from alpr_portal.demo.basemap import write_basemap


class Command(BaseCommand):
    help = "Create (or refresh) the demo agency and its users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default="8000")
        parser.add_argument(
            "--basemap",
            action="store_true",
            help="Only redraw the offline basemap of the demo area (static/vendor/demo-basemap/).",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["basemap"]:
            self.stdout.write(f"wrote {write_basemap()}")
            return
        seed_demo(port=str(options["port"]), stdout=self.stdout)
