"""The demo's data, in one place: the platform host, agency ``demo`` at demo.localhost, three
users (each with an authenticator already set up, whose code ``manage.py demo_code`` prints) and
a platform staff member, then one step per app (training records, cameras and captures, the search policy, a
month of access-log history, a neighbouring agency sharing its reads with the demo agency, one
retention purge).

Owned by the wiring layer because it uses every app; the apps themselves carry no demo code
(tests/test_layout.py checks that no runtime module imports this package). Run by
``manage.py seed_demo`` (``make demo``). Safe to re-run: every step skips what is already
there, and existing users keep their password and second factor.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from io import TextIOBase
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.people.roles import Role, assign_roles
from tenants.people.services import confirmed_totp_device, totp_enrol_confirmed, user_create
from tenants.services import agency_create, agency_settings_update, platform_ensure

from . import access_log, cameras, hotlists, people, retention, reviews, search_policy, sharing

DEMO_SLUG = "demo"
DEMO_HOST = "demo.localhost"
PLATFORM_HOSTS = ["localhost", "127.0.0.1"]  # the bare address opens the platform's landing page
DEMO_STAFF = ("platform", "Platform Staff", "demo-platform-Passw0rd!")
DEMO_CUSTODIAN = {
    "contact_name": "Lt. Maria Okafor, Records Unit",
    "contact_email": "records@demo.invalid",
}
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
    reviews.seed,
    search_policy.seed,
    access_log.seed,
    sharing.seed,  # a second agency sharing its reads with the demo (after the back-dated log)
    retention.seed,
]
# ``make demo`` runs these once the portal is up (``seed_demo --part rest``) and the others
# before it (``--part first``): a newcomer signs in while the captures arrive and are read.
LATER_STEPS: list[Callable[..., None]] = [
    cameras.seed,
    reviews.seed,
    sharing.seed,  # a second agency's schema and reads: not needed for the first pages
    retention.seed,
]
PARTS = ("all", "first", "rest")


def seed_demo(*, port: str, stdout: TextIOBase, sign_in_file: Path, part: str = "all") -> Agency:
    """Create (or refresh) the demo agency, its users and data; write how to sign in to
    ``sign_in_file`` (mode 600; ``make demo`` prints it once the portal runs).

    ``part``: ``all`` the steps in order; ``first`` the agency, its people and the steps the
    first pages need (hotlists, search policy, access log), and the sign-in file; ``rest`` the
    captures, the reviewed reads and the retention purge (``LATER_STEPS``, in their order)."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS} (got {part!r})")
    # ``rest`` comes after ``first``: the agency and its people are there.
    agency = Agency.objects.get(slug=DEMO_SLUG) if part == "rest" else _ensure_agency()
    for step in STEPS:
        if part == "all" or (step in LATER_STEPS) == (part == "rest"):
            step(agency=agency, stdout=stdout)
    if part == "rest":
        stdout.write("\nDemo captures and reviewed reads ready.\n")
        return agency
    write_sign_in_file(sign_in_file, sign_in_text(port=port))
    stdout.write(f"\nDemo agency ready. How to sign in: {sign_in_file}\n")
    return agency


def _ensure_agency() -> Agency:
    """The platform's hosts and staff member, the demo agency, its users and custodian."""
    platform = platform_ensure(domain=PLATFORM_HOSTS[0])
    for host in PLATFORM_HOSTS[1:]:
        platform.domains.get_or_create(domain=host, defaults={"is_primary": False})
    _ensure_staff()
    agency = agency_create(
        slug=DEMO_SLUG,
        name="Demo Police Department",
        domain=DEMO_HOST,
        timezone="America/Los_Angeles",
    ).agency
    _ensure_users(agency)
    _ensure_custodian(agency)
    return agency


def sign_in_text(*, port: str) -> str:
    """Where to go and how to sign in as each demo role (kept in the sign-in file)."""
    lines = [
        f"Open http://{DEMO_HOST}:{port}/ (the demo agency) and sign in as:",
        "",
        "  username   password                role            first page",
    ]
    first_pages = {
        Role.ADMINISTRATOR: "/ (home), /admin/",
        Role.OFFICER: "/search/, /review/",
        Role.AUDITOR: "/audit/",
    }
    lines += [f"  {u:<10} {p:<23} {r.value:<15} {first_pages[r]}" for u, _, r, p in DEMO_USERS]
    staff, _, staff_password = DEMO_STAFF
    lines += [
        "",
        f"Platform staff (agencies, platform admin): http://localhost:{port}/admin/",
        f"  {staff:<10} {staff_password:<23} platform staff",
        "",
        "The second factor: each demo user already has an authenticator. Get its current",
        "6-digit code with (development only, demo users only):",
        "  .venv/bin/python manage.py demo_code --user officer",
        "  .venv/bin/python manage.py demo_code --user platform   (platform staff)",
        "",
        f"Platform landing page: http://localhost:{port}/ (also http://127.0.0.1:{port}/)",
    ]
    return "\n".join(lines) + "\n"


def write_sign_in_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (mode 600), from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _ensure_custodian(agency: Agency) -> None:
    """The policy names a person to ask about access (set once; an edit in the admin stays)."""
    if agency.contact_name:
        return
    with schema_context(agency.schema_name):
        agency_settings_update(agency=agency, changes=DEMO_CUSTODIAN)


def _ensure_second_factor(user) -> None:
    if confirmed_totp_device(user) is None:
        totp_enrol_confirmed(user=user)


def _ensure_staff() -> None:
    """The platform's staff member, in the public schema (like ``createsuperuser``)."""
    username, full_name, password = DEMO_STAFF
    first, last = full_name.split(" ", 1)
    with schema_context("public"), transaction.atomic():
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                email=f"{username}@demo.invalid",
                first_name=first,
                last_name=last,
                roles=[Role.ADMINISTRATOR],
                password=password,
                source="demo seed",
            )
        if not user.is_superuser:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        _ensure_second_factor(user)


def _ensure_users(agency: Agency) -> None:
    user_model = get_user_model()
    with schema_context(agency.schema_name), transaction.atomic():
        for username, full_name, role, password in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_create(
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
            _ensure_second_factor(user)
