"""Run the retention purge by hand: ``manage.py purge_expired [--agency SLUG] [--dry-run]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from captures.retention.services import purge_expired
from tenants.models import Agency
from tenants.services import AgencyError, agency_for_slug

BATCH_HELP = "Captures per transaction (default 1000)."


class Command(BaseCommand):
    help = (
        "Delete captures past their agency's retention, with their images, reviews and derived "
        "data, and destroy the keys of fully expired days. Safe to rerun or interrupt."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agency", metavar="SLUG", help="Only this agency (default: all).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; change nothing."
        )
        parser.add_argument("--batch-size", type=int, default=1000, help=BATCH_HELP)

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        agencies = _agencies(options["agency"])
        for agency in agencies:
            result = purge_expired(
                agency=agency, dry_run=options["dry_run"], batch_size=options["batch_size"]
            )
            verb = "would delete" if result.dry_run else "deleted"
            related = ", ".join(
                f"{n} {label}" for label, n in sorted(result.related_deleted.items())
            )
            self.stdout.write(
                f"{agency.slug}: cutoff {result.cutoff:%Y-%m-%d %H:%M:%S %Z} "
                f"({agency.retention_days} days): {verb} {result.captures_deleted} captures, "
                f"{result.files_deleted} image files, {result.orphan_files_deleted} orphaned "
                f"files; {result.keys_destroyed} day keys "
                f"{'to destroy' if result.dry_run else 'destroyed'}"
                f"{f'; also {related}' if related else ''}"
                f"; {result.held_kept} expired captures kept by legal holds "
                f"in {result.duration_seconds:.1f} s."
            )


def _agencies(slug: str | None) -> list[Agency]:
    if slug:
        try:
            return [agency_for_slug(slug)]
        except AgencyError as exc:
            raise CommandError(str(exc)) from None
    return list(Agency.objects.exclude(schema_name="public").order_by("slug"))
