"""The demo's data, in one place: the platform host, agency ``demo`` at demo.localhost, three
users, then one step per app (training records, cameras and captures, the search policy, a
month of access-log history, one retention purge).

Owned by the wiring layer because it uses every app; the apps themselves carry no demo code
(tests/test_layout.py checks that no runtime module imports this package). Run by
``manage.py seed_demo`` (``make demo``). Safe to re-run: every step skips what is already
there, and existing users keep their password and second factor.
"""

from __future__ import annotations

from collections.abc import Callable
from io import TextIOBase

from django.contrib.auth import get_user_model
from django.db import transaction
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.people.roles import Role, assign_roles
from tenants.people.services import user_create
from tenants.services import agency_create, platform_ensure

from . import access_log, cameras, hotlists, people, retention, search_policy

DEMO_USERS = [
    ("admin", "Demo Administrator", Role.ADMINISTRATOR, "demo-admin-Passw0rd!"),
    ("officer", "Demo Officer", Role.OFFICER, "demo-officer-Passw0rd!"),
    ("auditor", "Demo Auditor", Role.AUDITOR, "demo-auditor-Passw0rd!"),
]

# Run in this order; the purge comes last, after every step that adds captures.
STEPS: list[Callable[..., None]] = [
    people.seed,
    hotlists.seed,  # before the captures, so that they hit the demo list as they arrive
    cameras.seed,
    search_policy.seed,
    access_log.seed,
    retention.seed,
]


def seed_demo(*, port: str, stdout: TextIOBase) -> Agency:
    """Create (or refresh) the demo agency, its users and data; print how to sign in."""
    platform_ensure(domain="localhost")
    agency = agency_create(
        slug="demo",
        name="Demo Police Department",
        domain="demo.localhost",
        timezone="America/Los_Angeles",
    ).agency
    _ensure_users(agency)
    for step in STEPS:
        step(agency=agency, stdout=stdout)
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
    stdout.write("\n".join(lines))
    return agency


def _ensure_users(agency: Agency) -> None:
    user_model = get_user_model()
    with schema_context(agency.schema_name), transaction.atomic():
        for username, full_name, role, password in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user_create(
                    username=username,
                    email=f"{username}@demo.invalid",
                    first_name=first,
                    last_name=last,
                    roles=[role],
                    password=password,
                    source="demo seed",
                )
            else:
                assign_roles(user, [role])
