"""What the access-log commands share: ``--agency`` and the schemas it names."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from tenants.models import Agency


class AccessLogCommand(BaseCommand):
    """A command over the access log of the platform and every agency, or of one agency."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--agency",
            metavar="SLUG",
            help="Only this agency ('platform' for the platform's own log).",
        )

    def agencies(self, options: dict[str, Any]) -> QuerySet[Agency]:
        agencies = Agency.objects.order_by("schema_name")
        slug = options.get("agency")
        if slug:
            agencies = agencies.filter(slug=slug)
            if not agencies.exists():
                raise CommandError(f"No agency with the slug {slug!r}.")
        return agencies
