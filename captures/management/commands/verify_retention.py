"""``manage.py verify_retention [--agency SLUG]``: exit non-zero if anything expired remains."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from captures.management.commands.purge_expired import _agencies
from captures.retention.checks import verify_retention


class Command(BaseCommand):
    help = (
        "Check the database and the image storage for anything older than the agency's "
        "retention (rows, files, orphaned files, undestroyed day keys). Exits 1 if any remain."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agency", metavar="SLUG", help="Only this agency (default: all).")

    def handle(self, *args, **options):
        failed = []
        for agency in _agencies(options["agency"]):
            report = verify_retention(agency=agency)
            status = "OK" if report.ok else "FAILED"
            self.stdout.write(
                f"{agency.slug}: retention {report.retention_days} days, cutoff "
                f"{report.cutoff:%Y-%m-%d %H:%M:%S %Z}: {status}"
            )
            for line in report.lines():
                self.stdout.write(f"  {line}")
            if not report.ok:
                failed.append(agency.slug)
        if failed:
            raise CommandError(
                "Data older than retention remains for "
                + ", ".join(failed)
                + ". Run 'manage.py purge_expired' (add --agency SLUG for one agency)."
            )
