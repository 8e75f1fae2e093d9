"""``manage.py share_revoke --agency A GRANT_ID``: the owner withdraws a grant, at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.services import AgencyError, agency_for_slug
from tenants.sharing.services import SharingError, grant_revoke


class Command(BaseCommand):
    help = "Revoke, for the owning agency, a grant it offered: effective immediately."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", required=True, help="the owning agency's slug")
        parser.add_argument("grant_id")
        parser.add_argument("--reason", default="", help="recorded in both access logs")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            grant = grant_revoke(
                agency=agency_for_slug(options["agency"]),
                grant_id=options["grant_id"],
                reason=options["reason"],
                username="command:share_revoke",
            )
        except (AgencyError, SharingError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"grant_id={grant.pk} revoked")
