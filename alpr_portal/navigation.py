"""The main navigation: each entry appears once its URL exists and the user holds a role for it."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from tenants.people.roles import Role, user_roles
from tenants.support.scope import scope_allows


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
        "Hotlist alerts",
        "captures:alerts",
        frozenset({Role.OFFICER}),
        "Reads that matched a hotlist: compare the image with the entry before acting.",
    ),
    NavEntry(
        "Hotlists",
        "captures:hotlists",
        frozenset({Role.OFFICER}),
        "Type in a wanted plate (with a purpose and a case), see the entries in force.",
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
        "Support access",
        "support:grants",
        frozenset({Role.AUDITOR, Role.ADMINISTRATOR}),
        "Platform staff let in by the agency, and what they did.",
    ),
    NavEntry(
        "Hotlist figures",
        "captures:hotlist-report",
        frozenset({Role.AUDITOR, Role.ADMINISTRATOR}),
        "Reads, hits, confirmations, misreads and outcomes by list; entries per user; flags.",
    ),
    NavEntry(
        "Legal holds",
        "holds:list",
        frozenset({Role.AUDITOR, Role.ADMINISTRATOR}),
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
        "Sharing",
        "captures:sharing",
        frozenset({Role.ADMINISTRATOR}),
        "Grants of read access between agencies: offer, accept, renew, revoke.",
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
        grant = getattr(request, "alpr_support_grant", None)
        if grant is not None and not scope_allows(grant.scope, entry.url_name, "GET"):
            continue  # a support session sees only what its grant reaches
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
