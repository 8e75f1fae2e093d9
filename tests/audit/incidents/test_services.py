"""Incidents: the affected data computed from the access log, edits, notifications, closing,
the CSV, and the log entries of each."""

from __future__ import annotations

import csv
import datetime
import io
import uuid

import pytest
from django_tenants.utils import schema_context

from audit.incidents.models import AffectedItem, Incident
from audit.incidents.selectors import incidents_per_year
from audit.incidents.services import (
    IncidentRefused,
    Scope,
    affected_add,
    affected_export_csv,
    affected_remove,
    incident_close,
    incident_open,
    incident_update,
    notification_add,
    notification_done,
)
from audit.models import Action
from audit.services import record_event
from tests.factories import make_user
from tests.support import events

pytestmark = pytest.mark.django_db


def _scope(window, accounts=("mallory",), addresses=()):
    return Scope(
        window_start=window[0],
        window_end=window[1],
        accounts=list(accounts),
        addresses=list(addresses),
    )


def _open(agency, request, scope):
    with schema_context(agency.schema_name):
        return incident_open(
            request=request, title="Officer misuse", description="Tip from a colleague", scope=scope
        )


def test_opening_computes_what_the_suspect_saw_in_the_window(agency_a, admin_request, suspect_log):
    incident = _open(agency_a, admin_request, _scope(suspect_log["window"]))
    with schema_context(agency_a.schema_name):
        items = sorted(
            (i.kind, i.capture_id, i.plate, i.actor_username) for i in incident.items.all()
        )
    seen, image_only = str(suspect_log["seen"]), str(suspect_log["image_only"])
    assert items == sorted(
        [
            ("capture", image_only, "", "mallory"),
            ("capture", seen, "7SUS123", "mallory"),
            ("export", seen, "7SUS123", "mallory"),
            ("search", "", "7SUS123", "mallory"),
        ]
    )
    (entry,) = events(agency_a, action=Action.INCIDENT_OPENED, details__incident_id=incident.pk)
    assert entry.case_number == f"INC-{incident.pk}"
    assert entry.details["items_added"] == 4
    assert entry.details["accounts"] == ["mallory"]


def test_a_suspected_address_adds_what_was_seen_from_it(agency_a, admin_request, suspect_log):
    scope = _scope(suspect_log["window"], accounts=(), addresses=("203.0.113.7",))
    incident = _open(agency_a, admin_request, scope)
    with schema_context(agency_a.schema_name):
        items = list(incident.items.values_list("capture_id", "plate", "client_ip"))
    assert items == [(str(suspect_log["by_address"]), "ADDR777", "203.0.113.7")]


@pytest.mark.parametrize(
    ("accounts", "addresses", "swap", "message"),
    [
        ((), (), False, "at least one suspected"),
        (("mallory",), ("not-an-ip",), False, "not an IP address"),
        (("mallory",), (), True, "end after it starts"),
    ],
)
def test_bad_scopes_are_refused(agency_a, admin_request, accounts, addresses, swap, message):
    now = datetime.datetime.now(datetime.UTC)
    hour_ago = now - datetime.timedelta(hours=1)
    window = (now, hour_ago) if swap else (hour_ago, now)
    with pytest.raises(IncidentRefused, match=message):
        _open(agency_a, admin_request, _scope(window, accounts, addresses))
    with schema_context(agency_a.schema_name):
        assert not Incident.objects.exists()


def test_widening_the_scope_recomputes_and_keeps_edits(agency_a, admin_request, suspect_log):
    window = suspect_log["window"]
    incident = _open(agency_a, admin_request, _scope(window))
    with schema_context(agency_a.schema_name):
        search_item = incident.items.get(kind="search")
        affected_remove(
            request=admin_request,
            incident_id=incident.pk,
            item_id=search_item.pk,
            note="Search was for an unrelated case",
        )
        manual = affected_add(
            request=admin_request,
            incident_id=incident.pk,
            kind=AffectedItem.Kind.OTHER,
            description="Screenshot shared by chat",
            note="Reported by the officer",
            plate="4ndr001",
        )
        incident_update(
            request=admin_request,
            incident_id=incident.pk,
            title="Officer misuse",
            description="Also from a shared address",
            scope=_scope(window, addresses=("203.0.113.7",)),
        )
        current = incident.items.filter(removed_at=None)
        assert manual.plate == "4NDR001"
        assert current.filter(pk=manual.pk).exists()
        assert current.filter(capture_id=str(suspect_log["by_address"])).exists()
        assert not current.filter(kind="search").exists()  # still removed
        assert incident.items.get(pk=search_item.pk).removed_note.startswith("Search was")
    changes = [
        e.details["change"]
        for e in events(agency_a, action=Action.INCIDENT_CHANGED, details__incident_id=incident.pk)
    ]
    assert changes == ["item_removed", "item_added", "details"]
    details = events(agency_a, action=Action.INCIDENT_CHANGED, details__incident_id=incident.pk)[
        -1
    ].details
    assert details["items_added"] == 1
    assert "suspected_addresses" in details["fields"]


def test_edits_need_a_note(agency_a, admin_request, suspect_log):
    incident = _open(agency_a, admin_request, _scope(suspect_log["window"]))
    with schema_context(agency_a.schema_name):
        item = incident.items.first()
        with pytest.raises(IncidentRefused, match="why the item is removed"):
            affected_remove(
                request=admin_request, incident_id=incident.pk, item_id=item.pk, note=""
            )
        with pytest.raises(IncidentRefused, match="why the item is added"):
            affected_add(
                request=admin_request,
                incident_id=incident.pk,
                kind="other",
                description="",
                note="",
            )


def test_notifications_must_be_done_before_closing(agency_a, admin_request, suspect_log):
    incident = _open(agency_a, admin_request, _scope(suspect_log["window"]))
    with schema_context(agency_a.schema_name):
        notification = notification_add(
            request=admin_request,
            incident_id=incident.pk,
            recipient_kind="state",
            recipient="State Attorney General",
            contact="breach@ag.example.gov",
            responsible="Chief",
            due_on=datetime.date.today(),
        )
        with pytest.raises(IncidentRefused, match="1 notification is not done"):
            incident_close(request=admin_request, incident_id=incident.pk, note="Done")
        notification_done(
            request=admin_request,
            incident_id=incident.pk,
            notification_id=notification.pk,
            method="email",
            note="Form submitted",
        )
        with pytest.raises(IncidentRefused, match="already recorded"):
            notification_done(
                request=admin_request,
                incident_id=incident.pk,
                notification_id=notification.pk,
                method="email",
                note="",
            )
        closed = incident_close(request=admin_request, incident_id=incident.pk, note="Resolved")
        assert closed.status == "closed"
        with pytest.raises(IncidentRefused, match="closed"):
            affected_add(
                request=admin_request,
                incident_id=incident.pk,
                kind="other",
                description="",
                note="n",
            )
    (entry,) = events(agency_a, action=Action.INCIDENT_CLOSED, details__incident_id=incident.pk)
    assert entry.details["note"] == "Resolved"


def test_the_csv_lists_the_items_and_is_logged_as_an_export(agency_a, admin_request, suspect_log):
    incident = _open(agency_a, admin_request, _scope(suspect_log["window"]))
    with schema_context(agency_a.schema_name):
        affected_add(
            request=admin_request,
            incident_id=incident.pk,
            kind="other",
            description="=HYPERLINK(bad)",
            note="from a spreadsheet",
        )
        body = affected_export_csv(request=admin_request, incident=incident)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 5
    assert {r["plate"] for r in rows} >= {"7SUS123"}
    assert "'=HYPERLINK(bad)" in {r["description"] for r in rows}  # not a formula
    (export,) = events(agency_a, action=Action.EXPORT, case_number=f"INC-{incident.pk}")
    assert (export.case_number, export.details["rows"]) == (f"INC-{incident.pk}", 5)


def test_incidents_are_counted_per_year_in_the_agency_time_zone(
    agency_a, admin_request, suspect_log
):
    for _ in range(2):
        _open(agency_a, admin_request, _scope(suspect_log["window"]))
    with schema_context(agency_a.schema_name):
        Incident.objects.filter(pk=Incident.objects.order_by("id").first().pk).update(
            opened_at=datetime.datetime(2025, 1, 1, 7, 0, tzinfo=datetime.UTC)  # 2024 in LA
        )
        counts = incidents_per_year(tz=agency_a.tz)
    this_year = datetime.datetime.now(agency_a.tz).year
    assert counts == [(this_year, 1), (2024, 1)]


def test_pages_listing_several_reads_add_each_with_its_own_plate(agency_a, admin_request):
    """A results page and a capture page with other reads list each read with its plate."""
    mallory = make_user(agency_a, username=f"mallory-{uuid.uuid4().hex[:6]}")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.datetime.now(datetime.UTC)
    with schema_context(agency_a.schema_name):
        record_event(
            action=Action.RESULTS_VIEWED,
            actor=mallory,
            objects=[("capture", first), ("capture", second)],
            details={
                "page": 1,
                "reads": [
                    {"capture": first, "plate": "7ONE111", "state": "CA", "images": ["plate"]},
                    {"capture": second, "plate": "7TWO222", "state": "NV", "images": []},
                ],
            },
        )
    scope = _scope((now - datetime.timedelta(minutes=5), now + datetime.timedelta(minutes=5)),
                   (mallory.username,), ())  # fmt: skip
    incident = _open(agency_a, admin_request, scope)
    with schema_context(agency_a.schema_name):
        items = set(incident.items.values_list("capture_id", "plate", "state", "description"))
    assert items == {
        (first, "7ONE111", "CA", "Listed in search results"),
        (second, "7TWO222", "NV", "Listed in search results"),
    }
