"""Remove access-log entries past the retention, as the nightly job does (run as the owner)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from audit.retention import prune_access_log
from tenants.models import Agency


class Command(BaseCommand):
    help = (
        "Prune the access log of the platform and every agency (or one agency): only the "
        "prefix older than the retention, only after the log and its checkpoints verify."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--agency",
            metavar="SLUG",
            help="Only this agency ('platform' for the platform's own log).",
        )

    def handle(self, *args, **options) -> None:
        agencies = Agency.objects.order_by("schema_name")
        slug = options.get("agency")
        if slug:
            agencies = agencies.filter(slug=slug)
            if not agencies.exists():
                raise CommandError(f"No agency with the slug {slug!r}.")
        refused = []
        for agency in agencies:
            with schema_context(agency.schema_name):
                result = prune_access_log()
            where = f"{agency.slug} ({agency.schema_name})"
            if result.refused:
                line = f"{where}: not pruned: {result.refused}"
                self.stderr.write(line)
                refused.append(line)
            else:
                self.stdout.write(
                    f"{where}: {result.removed} entries older than {result.cutoff:%Y-%m-%d} "
                    f"removed in {result.batches} batch(es)"
                )
        if refused:
            raise CommandError(f"{len(refused)} access log(s) not pruned; first: {refused[0]}")
