"""``manage.py share_accept --agency B GRANT_ID``: the recipient accepts an offer's terms."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.services import AgencyError, agency_for_slug
from tenants.sharing.services import SharingError, grant_accept


class Command(BaseCommand):
    help = "Accept, for the recipient agency, a grant offered to it: it takes effect now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", required=True, help="the recipient agency's slug")
        parser.add_argument("grant_id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            grant = grant_accept(
                agency=agency_for_slug(options["agency"]),
                grant_id=options["grant_id"],
                username="command:share_accept",
            )
        except (AgencyError, SharingError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"grant_id={grant.pk} accepted, in force until {grant.ends_on}")
