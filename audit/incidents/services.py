"""Writes of incidents: opening (the affected-data list computed from the access log),
changing, editing that list, notifications, closing, the CSV export and the reminders.

Each writes its access-log entry in the same transaction: ``incident_opened``,
``incident_changed`` (``details.change`` says what), ``incident_closed``, ``incident_viewed``
(the page shows what was exposed: plates), ``export`` (the CSV) and ``incident_reminder``.
The incident's reference (``INC-<id>``) is the entries' case number.
"""

from __future__ import annotations

import csv
import datetime
import io
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.incidents.models import AffectedItem, Incident, Notification
from audit.incidents.selectors import affected_from_log, incident_items, notifications_due
from audit.models import Action
from audit.services import record_event
from tenants.models import Agency

logger = logging.getLogger(__name__)

INCIDENT_PURPOSE = "Incident response"
REMINDER_USERNAME = "system:incident-reminders"
CSV_COLUMNS = [
    "item",
    "kind",
    "source",
    "access_log_entry",
    "occurred_at_utc",
    "account",
    "address",
    "capture_id",
    "plate",
    "state",
    "description",
    "note",
]


class IncidentRefused(Exception):
    """The change cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Scope:
    """The window and the suspects of an incident, as typed and checked."""

    window_start: datetime.datetime
    window_end: datetime.datetime
    accounts: list[str]
    addresses: list[str]

    def check(self) -> None:
        if self.window_end <= self.window_start:
            raise IncidentRefused("The window must end after it starts.")
        if not self.accounts and not self.addresses:
            raise IncidentRefused("Name at least one suspected account or address.")
        for address in self.addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise IncidentRefused(f"{address!r} is not an IP address.") from None


def normalized_addresses(addresses: Sequence[str]) -> list[str]:
    """Addresses in the one spelling the access log stores (``::1``, not ``0:0::1``)."""
    result = []
    for text in addresses:
        try:
            result.append(str(ipaddress.ip_address(text.strip())))
        except ValueError:
            result.append(text.strip())
    return list(dict.fromkeys(a for a in result if a))


def _log(
    action: Action, *, request: HttpRequest | None, incident: Incident, **details: Any
) -> None:
    record_event(
        action=action,
        request=request,
        username=REMINDER_USERNAME if request is None else None,
        purpose_category=INCIDENT_PURPOSE,
        case_number=incident.reference,
        objects=[("incident", incident.pk)],
        details={"incident_id": incident.pk, **details},
    )


def _username(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else ""


def _compute(incident: Incident, *, now: datetime.datetime) -> dict[str, int]:
    """Bring the computed items in line with the window and suspects; keep manual ones and
    the removals (a removed item still in scope stays removed)."""
    found = {item.key(): item for item in affected_from_log(incident)}
    existing = {item.key(): item for item in incident.items.filter(source="computed")}
    stale = [item.pk for key, item in existing.items() if key not in found]
    AffectedItem.objects.filter(pk__in=stale, removed_at__isnull=True).delete()
    new = [item for key, item in found.items() if key not in existing]
    for item in new:
        item.incident = incident
        item.added_at = now
    AffectedItem.objects.bulk_create(new, batch_size=1000)
    incident.computed_at = now
    return {"items_added": len(new), "items_dropped": len(stale)}


def incident_open(*, request: HttpRequest, title: str, description: str, scope: Scope) -> Incident:
    scope.check()
    now = timezone.now()
    user = getattr(request, "user", None)
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title.strip(),
            description=description.strip(),
            window_start=scope.window_start,
            window_end=scope.window_end,
            suspected_accounts=scope.accounts,
            suspected_addresses=scope.addresses,
            opened_at=now,
            updated_at=now,
            opened_by_id=getattr(user, "pk", None),
            opened_by_username=_username(request),
        )
        counts = _compute(incident, now=now)
        incident.save(update_fields=["computed_at"])
        _log(
            Action.INCIDENT_OPENED,
            request=request,
            incident=incident,
            title=incident.title,
            window=[scope.window_start.isoformat(), scope.window_end.isoformat()],
            accounts=scope.accounts,
            addresses=scope.addresses,
            **counts,
        )
    return incident


def _open_locked(incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None:
        raise IncidentRefused("There is no such incident.")
    if incident.status != Incident.Status.OPEN:
        raise IncidentRefused(f"Incident {incident.reference} is closed; it cannot be changed.")
    return incident


def incident_update(
    *, request: HttpRequest, incident_id: int, title: str, description: str, scope: Scope
) -> Incident:
    """Change what is known; a new window or new suspects recompute the affected data."""
    scope.check()
    now = timezone.now()
    with transaction.atomic():
        incident = _open_locked(incident_id)
        before = {
            "title": incident.title,
            "description": incident.description,
            "window_start": incident.window_start,
            "window_end": incident.window_end,
            "suspected_accounts": incident.suspected_accounts,
            "suspected_addresses": incident.suspected_addresses,
        }
        incident.title, incident.description = title.strip(), description.strip()
        incident.window_start, incident.window_end = scope.window_start, scope.window_end
        incident.suspected_accounts = scope.accounts
        incident.suspected_addresses = scope.addresses
        changed = sorted(name for name, value in before.items() if getattr(incident, name) != value)
        if not changed:
            return incident
        counts = _compute(incident, now=now) if set(changed) - {"title", "description"} else {}
        incident.updated_at = now
        incident.save()
        _log(
            Action.INCIDENT_CHANGED,
            request=request,
            incident=incident,
            change="details",
            fields=changed,
            **counts,
        )
    return incident


def affected_add(
    *,
    request: HttpRequest,
    incident_id: int,
    kind: str,
    description: str,
    note: str,
    capture_id: str = "",
    plate: str = "",
    state: str = "",
) -> AffectedItem:
    if not note.strip():
        raise IncidentRefused("Say in the note why the item is added.")
    with transaction.atomic():
        incident = _open_locked(incident_id)
        item = AffectedItem.objects.create(
            incident=incident,
            kind=kind,
            source=AffectedItem.Source.MANUAL,
            capture_id=capture_id.strip(),
            plate=plate.strip().upper(),
            state=state.strip().upper(),
            description=description.strip(),
            note=note.strip(),
            added_by_username=_username(request),
        )
        _log(
            Action.INCIDENT_CHANGED,
            request=request,
            incident=incident,
            change="item_added",
            item_id=item.pk,
            note=item.note,
        )
    return item


def affected_remove(
    *, request: HttpRequest, incident_id: int, item_id: int, note: str
) -> AffectedItem:
    """Take an item off the list (it stays recorded as removed, with the note)."""
    if not note.strip():
        raise IncidentRefused("Say in the note why the item is removed.")
    with transaction.atomic():
        incident = _open_locked(incident_id)
        item = incident.items.filter(pk=item_id, removed_at__isnull=True).first()
        if item is None:
            raise IncidentRefused("That item is not on this incident's list.")
        item.removed_at = timezone.now()
        item.removed_by_username = _username(request)
        item.removed_note = note.strip()
        item.save(update_fields=["removed_at", "removed_by_username", "removed_note"])
        _log(
            Action.INCIDENT_CHANGED,
            request=request,
            incident=incident,
            change="item_removed",
            item_id=item.pk,
            note=item.removed_note,
        )
    return item


def notification_add(
    *,
    request: HttpRequest,
    incident_id: int,
    recipient_kind: str,
    recipient: str,
    contact: str,
    responsible: str,
    due_on: datetime.date,
) -> Notification:
    with transaction.atomic():
        incident = _open_locked(incident_id)
        notification = Notification.objects.create(
            incident=incident,
            recipient_kind=recipient_kind,
            recipient=recipient.strip(),
            contact=contact.strip(),
            responsible=responsible.strip(),
            due_on=due_on,
        )
        _log(
            Action.INCIDENT_CHANGED,
            request=request,
            incident=incident,
            change="notification_added",
            notification_id=notification.pk,
            recipient_kind=recipient_kind,
            due_on=due_on.isoformat(),
        )
    return notification


def notification_done(
    *,
    request: HttpRequest,
    incident_id: int,
    notification_id: int,
    method: str,
    note: str,
    done_at: datetime.datetime | None = None,
) -> Notification:
    with transaction.atomic():
        incident = _open_locked(incident_id)
        notification = incident.notifications.filter(pk=notification_id).first()
        if notification is None:
            raise IncidentRefused("That notification is not part of this incident.")
        if notification.done_at is not None:
            raise IncidentRefused("That notification is already recorded as done.")
        notification.done_at = done_at or timezone.now()
        notification.method = method
        notification.done_note = note.strip()
        notification.done_by_username = _username(request)
        notification.save()
        _log(
            Action.INCIDENT_CHANGED,
            request=request,
            incident=incident,
            change="notification_done",
            notification_id=notification.pk,
            method=method,
        )
    return notification


def incident_close(*, request: HttpRequest, incident_id: int, note: str) -> Incident:
    """Close an incident whose notifications are all done."""
    if not note.strip():
        raise IncidentRefused("Say in the note how the incident was resolved.")
    with transaction.atomic():
        incident = _open_locked(incident_id)
        pending = incident.notifications.filter(done_at__isnull=True).count()
        if pending:
            raise IncidentRefused(
                f"{pending} notification{'s are' if pending > 1 else ' is'} not done yet: "
                "record how each was made before closing the incident."
            )
        incident.status = Incident.Status.CLOSED
        incident.closed_at = incident.updated_at = timezone.now()
        incident.closed_by_username = _username(request)
        incident.closing_note = note.strip()
        incident.save()
        _log(Action.INCIDENT_CLOSED, request=request, incident=incident, note=incident.closing_note)
    return incident


def incident_page_view(*, request: HttpRequest, incident: Incident, shown: int) -> None:
    """The incident's page shows its affected data (plates): one ``incident_viewed`` entry."""
    with transaction.atomic():
        _log(Action.INCIDENT_VIEWED, request=request, incident=incident, items_shown=shown)


def _safe(value: object) -> str:
    """A cell that a spreadsheet would not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def affected_export_csv(*, request: HttpRequest, incident: Incident) -> str:
    """The affected-data list (items not removed) as CSV, logged as ``export``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    with transaction.atomic():
        items = list(incident_items(incident))
        for item in items:
            writer.writerow(
                [
                    _safe(v)
                    for v in (
                        item.pk,
                        item.kind,
                        item.source,
                        item.event_id or "",
                        item.occurred_at.astimezone(datetime.UTC).isoformat()
                        if item.occurred_at
                        else "",
                        item.actor_username,
                        item.client_ip or "",
                        item.capture_id,
                        item.plate,
                        item.state,
                        item.description,
                        item.note,
                    )
                ]
            )
        record_event(
            action=Action.EXPORT,
            request=request,
            purpose_category=INCIDENT_PURPOSE,
            case_number=incident.reference,
            objects=[("incident", incident.pk)],
            details={"format": "csv", "what": "incident_affected_data", "rows": len(items)},
        )
    return buffer.getvalue()


def _reminder_body(agency: Agency, due: list[Notification], today: datetime.date) -> str:
    lines = [
        f"Notifications of {agency.name}'s incidents are due or overdue:",
        "",
    ]
    for n in due:
        late = "OVERDUE" if n.due_on < today else "due"
        lines.append(
            f"- {n.incident.reference} ({n.incident.title}): tell {n.recipient} "
            f"({n.get_recipient_kind_display()}), {late} {n.due_on:%Y-%m-%d}, "
            f"by {n.responsible}"
        )
    lines += [
        "",
        "Record each notification on the incident's page once it is made "
        "(/audit/incidents/). This reminder comes daily until then.",
    ]
    return "\n".join(lines)


def reminders_send(*, agency: Agency, today: datetime.date | None = None) -> int:
    """E-mail the agency's custodian the notifications due (or overdue) and not yet reminded
    today; the number reminded. Without a custodian e-mail nothing is sent (logged)."""
    today = today or timezone.now().astimezone(agency.tz).date()
    due = list(notifications_due(today=today).exclude(last_reminded_on=today))
    if not due:
        return 0
    if not agency.contact_email:
        logger.warning(
            "%s: %d incident notifications due, but the agency has no custodian e-mail "
            "(agency settings: contact e-mail)",
            agency.slug,
            len(due),
        )
        return 0
    with transaction.atomic():
        Notification.objects.filter(pk__in=[n.pk for n in due]).update(last_reminded_on=today)
        for incident in {n.incident_id: n.incident for n in due}.values():
            _log(
                Action.INCIDENT_REMINDER,
                request=None,
                incident=incident,
                to=agency.contact_email,
                notifications=[n.pk for n in due if n.incident_id == incident.pk],
            )
        send_mail(
            subject=f"[{agency.name}] {len(due)} incident notification(s) due",
            message=_reminder_body(agency, due, today),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[agency.contact_email],
        )
    return len(due)
