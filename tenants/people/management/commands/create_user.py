"""Provisioning: create a user in an agency, optionally trained and with an authenticator."""

from __future__ import annotations

import datetime
import sys

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.people import services
from tenants.people.roles import Role
from tenants.services import AgencyError, agency_for_slug


class Command(BaseCommand):
    help = (
        "Create a user in an agency (audited). Prints a generated password unless "
        "--password-stdin is given; with --enrol-totp prints totp_secret=... once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="The agency's slug, e.g. demo")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--role",
            action="append",
            required=True,
            help="administrator, officer or auditor; repeat for several",
        )
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--trained-on", help="Day the initial training was completed (YYYY-MM-DD)"
        )
        parser.add_argument("--trainer", default="", help="Who gave the training")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of standard input",
        )
        parser.add_argument(
            "--enrol-totp",
            action="store_true",
            help="Create a confirmed authenticator and print its secret once",
        )

    def handle(self, *args, **options):
        try:
            agency = agency_for_slug(options["agency"].strip().lower())
        except AgencyError as exc:
            raise CommandError(str(exc)) from None
        try:
            roles = [Role.parse(value) for value in options["role"]]
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        trained_on = None
        if options["trained_on"]:
            try:
                trained_on = datetime.date.fromisoformat(options["trained_on"])
            except ValueError:
                raise CommandError(
                    f"--trained-on must be a date as YYYY-MM-DD (got {options['trained_on']!r})."
                ) from None
        generated = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin was given but standard input was empty.")
        else:
            password = generated = services.random_password()

        with schema_context(agency.schema_name):
            try:
                user = services.user_create(
                    username=options["username"].strip(),
                    email=options["email"].strip(),
                    roles=roles,
                    password=password,
                    first_name=options["first_name"],
                    last_name=options["last_name"],
                    trained_on=trained_on,
                    trainer=options["trainer"],
                    source="create_user command",
                )
            except services.PeopleError as exc:
                raise CommandError(str(exc)) from None
            secret = None
            if options["enrol_totp"]:
                secret = services.totp_enrol_confirmed(user=user).secret_base32

        role_text = ", ".join(role.value for role in roles)
        self.stdout.write(f"Created user {user.username!r} in {agency.name!r} ({role_text}).")
        if generated:
            self.stdout.write(f"password={generated}")
        if secret:
            self.stdout.write(f"totp_secret={secret}")
