"""Seed the demo: the platform host, agency ``demo`` at demo.localhost and three users.

Safe to re-run: nothing is duplicated, existing users keep their second factor.
"""

from importlib import import_module

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django_tenants.utils import schema_context

from tenants.people.roles import Role, assign_roles
from tenants.services import agency_create, platform_ensure

# Modules with a ``seed_demo(*, agency, stdout)`` function, run in this order.
DEMO_SEEDERS: list[str] = [
    "tenants.people.demo",
    "captures.demo",
    "captures.search_demo",
    "audit.demo",
    "captures.purge",  # last: one retention purge after everything that adds captures
]

DEMO_USERS = [
    ("admin", "Demo Administrator", Role.ADMINISTRATOR, "demo-admin-Passw0rd!"),
    ("officer", "Demo Officer", Role.OFFICER, "demo-officer-Passw0rd!"),
    ("auditor", "Demo Auditor", Role.AUDITOR, "demo-auditor-Passw0rd!"),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo agency and its users."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")

    def handle(self, *args, **options):
        platform_ensure(domain="localhost")
        result = agency_create(
            slug="demo",
            name="Demo Police Department",
            domain="demo.localhost",
            timezone="America/Los_Angeles",
        )
        agency = result.agency
        user_model = get_user_model()
        with schema_context(agency.schema_name), transaction.atomic():
            for username, full_name, role, password in DEMO_USERS:
                first, last = full_name.split(" ", 1)
                user, created = user_model.objects.get_or_create(
                    username=username,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "email": f"{username}@demo.invalid",
                    },
                )
                if created:
                    user.set_password(password)
                    user.is_staff = role == Role.ADMINISTRATOR
                    user.save()
                assign_roles(user, [role])
        self.extend_demo(agency)
        port = options["port"]
        lines = [
            "",
            f"Demo agency ready: http://demo.localhost:{port}/",
            "",
            "  username   password                role",
        ]
        lines += [f"  {u:<10} {p:<23} {r.value}" for u, _, r, p in DEMO_USERS]
        lines += [
            "",
            "First sign-in asks each user to enrol a second factor: scan the QR code with any",
            "authenticator app (or type the secret shown under it), enter the 6-digit code, and",
            f"keep the backup codes. Platform landing page: http://localhost:{port}/",
            "",
        ]
        self.stdout.write("\n".join(lines))

    def extend_demo(self, agency) -> None:
        """Demo data of the other apps (training, cameras, captures), each idempotent."""
        for module_name in DEMO_SEEDERS:
            import_module(module_name).seed_demo(agency=agency, stdout=self.stdout)
