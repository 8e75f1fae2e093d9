"""Reads of incidents: what the suspected accounts or addresses saw in the window, from the
access log; notifications due; incidents per year for the transparency page."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import ExtractYear

from audit.incidents.models import AffectedItem, Incident, Notification
from audit.models import AccessEvent, Action, Outcome

# Entries that show plate data to whoever made them.
SEEN_ACTIONS = (
    Action.SEARCH,
    Action.CAPTURE_VIEWED,
    Action.RESULTS_VIEWED,
    Action.IMAGE_VIEWED,
    Action.REVIEW,
    Action.EXPORT,
    Action.HOLD_VIEWED,
)
CAPTURE_VERBS = {
    Action.CAPTURE_VIEWED: "Capture page viewed",
    Action.RESULTS_VIEWED: "Listed in search results",
    Action.IMAGE_VIEWED: "Image viewed",
    Action.REVIEW: "Read reviewed",
    Action.HOLD_VIEWED: "Seen on a legal hold's page",
}
MAX_ITEMS = 20_000
REMIND_DAYS_AHEAD = 3  # a notification is "due" from this many days before its date


def suspected_entries(incident: Incident) -> QuerySet[AccessEvent]:
    """Allowed entries in the window by a suspected account or from a suspected address."""
    who = Q(pk__in=[])
    if incident.suspected_accounts:
        who |= Q(actor_username__in=incident.suspected_accounts)
    if incident.suspected_addresses:
        who |= Q(client_ip__in=incident.suspected_addresses)
    return AccessEvent.objects.filter(
        who,
        occurred_at__gte=incident.window_start,
        occurred_at__lte=incident.window_end,
        action__in=SEEN_ACTIONS,
        outcome=Outcome.ALLOWED,
    ).order_by("id")


def _captures_of(event: AccessEvent) -> list[str]:
    objects = event.objects_touched if isinstance(event.objects_touched, list) else []
    return [
        str(item.get("id"))
        for item in objects
        if isinstance(item, dict) and item.get("type") == "capture"
    ]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _item(event: AccessEvent, **fields: Any) -> AffectedItem:
    return AffectedItem(
        event_id=event.pk,
        occurred_at=event.occurred_at,
        actor_username=event.actor_username,
        client_ip=event.client_ip,
        source=AffectedItem.Source.COMPUTED,
        **fields,
    )


def _items_of(event: AccessEvent) -> Iterator[AffectedItem]:
    details, query = _dict(event.details), _dict(event.query)
    if event.action == Action.SEARCH:
        yield _item(
            event,
            kind=AffectedItem.Kind.SEARCH,
            plate=str(query.get("plate") or "")[:16],
            state=str(query.get("state") or "")[:2],
            description=f"Search found {details.get('result_count', '?')} reads",
        )
        return
    captures = _captures_of(event)
    if event.action == Action.EXPORT:
        what = details.get("what") or details.get("format") or "export"
        yield _item(
            event,
            kind=AffectedItem.Kind.EXPORT,
            capture_id=captures[0] if len(captures) == 1 else "",
            plate=str(details.get("plate") or "")[:16],
            state=str(details.get("state") or "")[:2],
            description=f"Export ({what}, {details.get('format', '')})"[:300],
        )
        return
    for index, capture_id in enumerate(captures):
        plate, state = _plate_shown(details, index, capture_id)
        yield _item(
            event,
            kind=AffectedItem.Kind.CAPTURE,
            capture_id=capture_id,
            plate=str(plate or "")[:16],
            state=str(state or "")[:2],
            description=CAPTURE_VERBS.get(Action(event.action), event.action),
        )


def _plate_shown(details: dict[str, Any], index: int, capture_id: str) -> tuple[Any, Any]:
    """The plate and state an entry showed for one of its captures: from ``details.reads``
    (pages that list several reads), else ``details.plates`` or the entry's one plate."""
    reads = details.get("reads")
    for read in reads if isinstance(reads, list) else []:
        if isinstance(read, dict) and str(read.get("capture")) == capture_id:
            return read.get("plate"), read.get("state")
    plates = details.get("plates") if isinstance(details.get("plates"), list) else None
    if plates:
        return (plates[index] if index < len(plates) else details.get("plate")), ""
    return details.get("plate"), details.get("state")


def affected_from_log(incident: Incident) -> list[AffectedItem]:
    """What the incident's suspects saw in its window, unsaved, at most ``MAX_ITEMS``."""
    found: list[AffectedItem] = []
    for event in suspected_entries(incident).iterator(chunk_size=2000):
        for item in _items_of(event):
            found.append(item)
            if len(found) >= MAX_ITEMS:
                return found
    return found


def incidents_listed() -> QuerySet[Incident]:
    return Incident.objects.annotate(
        open_notifications=Count("notifications", filter=Q(notifications__done_at__isnull=True))
    ).order_by("-opened_at", "-id")


def incident_items(incident: Incident, *, removed: bool = False) -> QuerySet[AffectedItem]:
    return incident.items.filter(removed_at__isnull=not removed).order_by("occurred_at", "id")


def notifications_due(*, today: datetime.date) -> QuerySet[Notification]:
    """Open incidents' notifications not done whose date is near or past."""
    return (
        Notification.objects.filter(
            incident__status=Incident.Status.OPEN,
            done_at__isnull=True,
            due_on__lte=today + datetime.timedelta(days=REMIND_DAYS_AHEAD),
        )
        .select_related("incident")
        .order_by("due_on", "id")
    )


def incidents_per_year(*, tz: zoneinfo.ZoneInfo) -> list[tuple[int, int]]:
    """(year, incidents opened that year, agency time), newest year first."""
    rows = (
        Incident.objects.annotate(year=ExtractYear("opened_at", tzinfo=tz))
        .values("year")
        .annotate(n=Count("id"))
        .order_by("-year")
    )
    return [(int(row["year"]), int(row["n"])) for row in rows]
