"""The main navigation: each entry appears once its URL exists and the user holds a role for it."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from tenants.people.roles import Role, user_roles


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    roles: frozenset[Role]
    help: str


NAV_ENTRIES = [
    NavEntry(
        "Plate search",
        "captures:search",
        frozenset({Role.OFFICER}),
        "Search reads with a stated purpose.",
    ),
    NavEntry(
        "Review queue",
        "captures:review",
        frozenset({Role.OFFICER}),
        "Confirm or correct the computer's reads.",
    ),
    NavEntry(
        "Access log",
        "audit:events",
        frozenset({Role.AUDITOR, Role.ADMINISTRATOR}),
        "Who looked at what, and why.",
    ),
    NavEntry(
        "Audit flags",
        "audit:flags",
        frozenset({Role.AUDITOR, Role.ADMINISTRATOR}),
        "Searches, capture views and review sessions an auditor should look at.",
    ),
    NavEntry(
        "Legal holds",
        "holds:list",
        frozenset({Role.ADMINISTRATOR}),
        "Captures kept past retention for a case, and their holds.",
    ),
    NavEntry(
        "Incidents",
        "incidents:list",
        frozenset({Role.AUDITOR, Role.ADMINISTRATOR}),
        "Suspected misuse or breaches: what was exposed, and who must be told.",
    ),
    NavEntry(
        "Disclosures",
        "releases:register",
        frozenset({Role.AUDITOR, Role.ADMINISTRATOR, Role.OFFICER}),
        "Releases of data outside the agency: prepare, approve, register, evidence packages.",
    ),
    NavEntry(
        "Training due",
        "training-due",
        frozenset({Role.ADMINISTRATOR}),
        "Who lacks current training or is due for the refresher within 30 days.",
    ),
    NavEntry(
        "Administration",
        "admin:index",
        frozenset({Role.ADMINISTRATOR}),
        "Users, training, cameras and settings.",
    ),
]


def nav_items(request) -> list[dict[str, object]]:
    roles = user_roles(getattr(request, "user", None))
    items = []
    for entry in NAV_ENTRIES:
        if not roles & entry.roles:
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "label": entry.label,
                "url": url,
                "help": entry.help,
                "active": request.path.startswith(url) and url != "/",
            }
        )
    return items
