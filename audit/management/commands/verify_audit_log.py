"""Walk the access-log hash chain of the platform and every agency (or one agency)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from audit.chain import verify_chain
from tenants.models import Agency


class Command(BaseCommand):
    help = (
        "Verify the tamper-evident access log. Exits non-zero and names the first broken "
        "entry when an entry was changed, removed or reordered."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--agency",
            metavar="SLUG",
            help="Only this agency ('platform' for the platform's own log).",
        )

    def handle(self, *args, **options):
        agencies = Agency.objects.order_by("schema_name")
        slug = options.get("agency")
        if slug:
            agencies = agencies.filter(slug=slug)
            if not agencies.exists():
                raise CommandError(f"No agency with the slug {slug!r}.")
        broken = []
        for agency in agencies:
            with schema_context(agency.schema_name):
                result = verify_chain()
            line = result.describe(f"{agency.slug} ({agency.schema_name})")
            if result.ok:
                self.stdout.write(line)
            else:
                self.stderr.write(line)
                broken.append(line)
        if broken:
            raise CommandError(
                f"{len(broken)} access log(s) failed verification; first: {broken[0]}"
            )
