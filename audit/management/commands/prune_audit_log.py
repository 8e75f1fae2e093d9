"""Remove access-log entries past the retention, as the nightly job does (run as the owner)."""

from __future__ import annotations

from django.core.management.base import CommandError
from django_tenants.utils import schema_context

from audit.management.logs import AccessLogCommand
from audit.retention import prune_access_log


class Command(AccessLogCommand):
    help = (
        "Prune the access log of the platform and every agency (or one agency): only the "
        "prefix older than the retention, only after the log and its checkpoints verify."
    )

    def handle(self, *args, **options) -> None:
        agencies = self.agencies(options)
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
