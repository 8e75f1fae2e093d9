"""Access-log entries in several agencies' logs that name each other.

A step of sharing (an offer, an acceptance, a search of shared data) is written to the log of
every agency it concerns, in one transaction, and each entry names the others: the hub entry
(the agency that acted) lists every other entry as ``{"agency": slug, "event_id": id}`` in
``details.links``, and each of those names the hub entry the same way; ``details.agencies``
holds the other agencies' slugs (what the auditors' agency filter matches).

Entries are immutable and hashed, so every entry's id is drawn first (``audit.chain.draw_heads``,
one statement for all the logs), then all are written together. The logs' chain locks are
taken in one order (by schema name) before anything is drawn, so two agencies acting on each
other at once wait, never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from audit import chain
from audit.models import AccessEvent
from audit.services import record_events
from tenants.models import Agency


@dataclass(frozen=True)
class ExternalActor:
    """Someone of another agency, as they appear in this agency's log: ``slug:username``,
    without an id (their id names nobody here)."""

    agency_slug: str
    username: str
    pk: None = None

    def get_username(self) -> str:
        return f"{self.agency_slug}:{self.username}"


@dataclass
class Entry:
    """One entry to write: the agency whose log gets it and ``record_event``'s arguments."""

    agency: Agency
    fields: dict[str, Any] = field(default_factory=dict)


def lock_logs(agencies: Iterable[Agency]) -> None:
    """Take the chain locks of these agencies' logs, in schema order, in one statement (call
    in a transaction)."""
    chain.lock_chains(agency.schema_name for agency in agencies)


def link_details(links: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``details.links`` (the other entries) and ``details.agencies`` (their agencies)."""
    return {
        "links": [dict(link) for link in links],
        "agencies": sorted({str(link["agency"]) for link in links}),
    }


def _with_links(fields: Mapping[str, Any], links: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out = dict(fields)
    out["details"] = {**dict(out.pop("details", None) or {}), **link_details(links)}
    return out


def record_linked(*, hub: Entry, spokes: Sequence[Entry]) -> tuple[AccessEvent, list[AccessEvent]]:
    """Write ``hub`` and every spoke, each naming the others as described above.

    All in the caller's transaction (one is opened if there is none): all land or none. Three
    statements, however many spokes: the logs' chain locks, their ids and heads
    (``audit.chain.draw_heads``), and the entries (``audit.services.record_events``).
    """
    with transaction.atomic():
        agencies = [hub.agency, *(spoke.agency for spoke in spokes)]
        lock_logs(agencies)
        counts: dict[str, int] = {}
        for agency in agencies:
            counts[agency.schema_name] = counts.get(agency.schema_name, 0) + 1
        heads = chain.draw_heads(counts)
        hub_id = heads[hub.agency.schema_name].ids[0]
        hub_link = {"agency": hub.agency.slug, "event_id": hub_id}
        taken = {hub.agency.schema_name: 1}
        links = []
        for spoke in spokes:
            schema = spoke.agency.schema_name
            links.append(
                {"agency": spoke.agency.slug, "event_id": heads[schema].ids[taken.get(schema, 0)]}
            )
            taken[schema] = taken.get(schema, 0) + 1
        hub_event, *written = record_events(
            [
                (hub.agency.schema_name, _with_links(hub.fields, links)),
                *(
                    (spoke.agency.schema_name, _with_links(spoke.fields, [hub_link]))
                    for spoke in spokes
                ),
            ],
            heads=heads,
        )
    return hub_event, written
