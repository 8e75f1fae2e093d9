from django.core.management.base import BaseCommand, CommandError

from tenants.services import AgencyError, agency_create


class Command(BaseCommand):
    help = "Create an agency: its database schema, its host and its first administrator."

    def add_arguments(self, parser):
        parser.add_argument(
            "--slug", required=True, help="Short lowercase name, e.g. springfield-pd"
        )
        parser.add_argument(
            "--name", required=True, help="Full name, e.g. 'Springfield Police Department'"
        )
        parser.add_argument(
            "--domain",
            required=True,
            help="Host the agency is served at, e.g. springfield.localhost",
        )
        parser.add_argument("--admin-username", help="Username of the agency's first administrator")
        parser.add_argument("--admin-email", help="Email of the first administrator")
        parser.add_argument("--timezone", help="IANA time zone, e.g. America/Chicago")

    def handle(self, *args, **options):
        try:
            result = agency_create(
                slug=options["slug"],
                name=options["name"],
                domain=options["domain"],
                admin_username=options["admin_username"],
                admin_email=options["admin_email"],
                timezone=options["timezone"],
            )
        except AgencyError as exc:
            raise CommandError(str(exc)) from None
        agency = result.agency
        if result.created:
            self.stdout.write(
                self.style.SUCCESS(f"Created agency {agency.name!r} (schema {agency.schema_name}).")
            )
        else:
            self.stdout.write(
                f"Agency {agency.name!r} already exists at {result.domain}; nothing changed."
            )
        if result.admin_password:
            self.stdout.write(
                "\nFirst administrator:\n"
                f"  username: {result.admin_username}\n"
                f"  password: {result.admin_password}   (shown once; change it after signing in)\n"
                "\nTo finish enrolment:\n"
                f"  1. Open http://{result.domain}:8000/ (or your production URL) and sign in.\n"
                "  2. Scan the QR code with an authenticator app and confirm with a first code.\n"
                "  3. Store the one-time backup codes somewhere safe.\n"
                "  4. In Administration, record your training and add your officers and auditors.\n"
            )
