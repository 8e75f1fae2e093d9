"""``manage.py share_offer --from A --to B --until YYYY-MM-DD [--cameras ...] [--days N]``."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from captures.sharing.services import grant_offer_checked
from tenants.services import AgencyError, agency_for_slug
from tenants.sharing.services import SharingError


class Command(BaseCommand):
    help = "Offer another agency read access to an agency's captures; prints grant_id=<id>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="owner", required=True, help="the owning agency's slug")
        parser.add_argument("--to", dest="recipient", required=True, help="the recipient's slug")
        parser.add_argument("--until", required=True, help="last day, YYYY-MM-DD (within a year)")
        parser.add_argument(
            "--cameras", nargs="+", help="camera ids or names of the owner (default: all)"
        )
        parser.add_argument("--days", type=int, help="how far back (default: the retention)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            until = datetime.date.fromisoformat(options["until"])
        except ValueError:
            raise CommandError(
                f"--until {options['until']!r} is not a date (YYYY-MM-DD)."
            ) from None
        try:
            grant = grant_offer_checked(
                owner=agency_for_slug(options["owner"]),
                recipient=agency_for_slug(options["recipient"]),
                ends_on=until,
                cameras=options.get("cameras"),
                days_back=options.get("days"),
                username="command:share_offer",
            )
        except (AgencyError, SharingError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"grant_id={grant.pk}")
