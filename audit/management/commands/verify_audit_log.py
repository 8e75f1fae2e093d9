"""Walk the access-log hash chain of the platform and every agency (or one agency)."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import schema_context

from audit.checkpoint import parse_expected_head, verify_log
from audit.management.logs import AccessLogCommand


class Command(AccessLogCommand):
    help = (
        "Verify the tamper-evident access log against its signed checkpoints. Exits non-zero "
        "and names the first broken entry (and the checkpoint) when an entry was changed, "
        "removed or reordered, or the newest entries were cut."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--expect",
            metavar="ID:HASH",
            action="append",
            default=[],
            help="A head you kept (entry id and hash, e.g. from the transparency page): the "
            "log must still contain it. Needs --agency; may be given more than once.",
        )

    def handle(self, *args, **options) -> None:
        agencies = self.agencies(options)
        slug = options.get("agency")
        expected = []
        for text in options["expect"]:
            try:
                expected.append(parse_expected_head(text))
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        if expected and not slug:
            raise CommandError("--expect checks one agency's log: give --agency SLUG too.")
        broken = []
        for agency in agencies:
            with schema_context(agency.schema_name):
                result = verify_log(expect=expected)
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
