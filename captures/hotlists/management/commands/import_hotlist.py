"""``manage.py import_hotlist --agency SLUG --list NAME FILE``: replace a list from an extract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from captures.hotlists.imports import ImportRefused, hotlist_import
from captures.hotlists.models import Hotlist
from captures.hotlists.services import hotlist_save
from tenants.models import Agency

USERNAME = "manage.py import_hotlist"


class Command(BaseCommand):
    help = (
        "Replace the entries of an extract list with a file's (CSV or fixed-width NCIC "
        "layout, docs/HOTLISTS.md); --create makes the list first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", required=True, metavar="SLUG")
        parser.add_argument("--list", required=True, metavar="NAME", dest="list_name")
        parser.add_argument("file", metavar="FILE")
        parser.add_argument(
            "--create", action="store_true", help="Create the extract list if it does not exist."
        )
        parser.add_argument("--owner", default="", help="Owner of a list made by --create.")
        parser.add_argument(
            "--no-alerts", action="store_true", help="A list made by --create does not alert."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        agency = Agency.objects.exclude(schema_name="public").filter(slug=options["agency"]).first()
        if agency is None:
            raise CommandError(f"No agency with the slug {options['agency']!r}.")
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        with schema_context(agency.schema_name):
            hotlist = Hotlist.objects.filter(name=options["list_name"]).first()
            if hotlist is None and options["create"]:
                hotlist = Hotlist(
                    name=options["list_name"],
                    kind=Hotlist.Kind.EXTRACT,
                    owner=options["owner"] or "imported extract",
                    alerts=not options["no_alerts"],
                )
                hotlist_save(hotlist=hotlist, adding=True, request=None, username=USERNAME)
            if hotlist is None:
                raise CommandError(
                    f"No list named {options['list_name']!r} in {agency.slug} (--create makes it)."
                )
            try:
                report = hotlist_import(
                    agency=agency,
                    hotlist=hotlist,
                    data=data,
                    file_name=path.name,
                    username=USERNAME,
                )
            except ImportRefused as exc:
                self._refusals(exc.report.refused)
                raise CommandError(f"Refused, nothing changed: {exc}") from None
        self._refusals(report.refused)
        self.stdout.write(
            f"{hotlist.name}: added={report.added} removed={report.removed} "
            f"unchanged={report.unchanged} refused={report.refused_count}"
        )

    def _refusals(self, refused: list[tuple[int, str]]) -> None:
        for line, message in refused:
            self.stderr.write(f"line {line}: {message}")
