"""``manage.py legal_hold``: place a legal hold on captures, or lift one, from a script.

    manage.py legal_hold --agency SLUG --case NUMBER --reason TEXT --until YYYY-MM-DD \\
        [--authority TEXT] CAPTURE_ID...          # prints hold_id=<id>
    manage.py legal_hold --agency SLUG --release HOLD_ID [--reason TEXT]
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from captures.holds.models import LegalHold
from captures.holds.services import HoldRefused, Who, hold_place, hold_release
from tenants.models import Agency
from tenants.services import AgencyError, agency_for_slug

RELEASE_REASON = "Lifted with the legal_hold command."


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--until {value!r} is not a date; write it as YYYY-MM-DD.") from None


def _capture_ids(values: list[str]) -> list[uuid.UUID]:
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            raise CommandError(f"{value!r} is not a capture id (a UUID).") from None
    return ids


class Command(BaseCommand):
    help = (
        "Place a legal hold on captures (kept past retention until the end date, at most one "
        "year; prints hold_id=...), or lift a hold with --release HOLD_ID."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", metavar="SLUG", required=True)
        parser.add_argument("--case", metavar="NUMBER", help="The case number of the hold.")
        parser.add_argument("--reason", metavar="TEXT", help="Why the captures are held.")
        parser.add_argument("--until", metavar="YYYY-MM-DD", help="The hold's last day.")
        parser.add_argument("--authority", metavar="TEXT", default="", help="Legal authority.")
        parser.add_argument("--release", metavar="HOLD_ID", type=int, help="Lift this hold.")
        parser.add_argument("capture_ids", nargs="*", metavar="CAPTURE_ID")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            agency = agency_for_slug(options["agency"])
        except AgencyError as exc:
            raise CommandError(str(exc)) from None
        with schema_context(agency.schema_name):
            if options["release"] is not None:
                self._release(options)
            else:
                self._place(agency, options)

    def _release(self, options: dict[str, Any]) -> None:
        if options["capture_ids"] or options["case"] or options["until"]:
            raise CommandError("--release takes only a hold id (and optionally --reason).")
        try:
            hold = hold_release(
                who=Who(), hold_id=options["release"], reason=options["reason"] or RELEASE_REASON
            )
        except HoldRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"hold_id={hold.pk} released")

    def _place(self, agency: Agency, options: dict[str, Any]) -> None:
        missing = [f"--{name}" for name in ("case", "reason", "until") if not options[name]]
        if missing:
            raise CommandError(f"Give {', '.join(missing)} (or --release HOLD_ID).")
        if not options["capture_ids"]:
            raise CommandError("Name at least one CAPTURE_ID to hold.")
        try:
            hold = hold_place(
                agency=agency,
                who=Who(),
                capture_ids=_capture_ids(options["capture_ids"]),
                case_number=options["case"],
                reason=options["reason"],
                ends_on=_day(options["until"]),
                authority=options["authority"],
                source=LegalHold.Source.COMMAND,
            )
        except HoldRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"hold_id={hold.pk}")
