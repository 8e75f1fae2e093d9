"""The incident pages: open, the page (logged), edits, notifications, close, CSV, roles, and
another agency's incident."""

from __future__ import annotations

import datetime

import pytest
from django_tenants.utils import schema_context

from audit.incidents.models import Incident
from audit.models import Action
from tenants.people.roles import Role
from tests.factories import make_user
from tests.support import events, verified_client

pytestmark = pytest.mark.django_db

FORMAT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def admin_client(agency_a, admin_a):
    return verified_client(agency_a, admin_a)


def _form(agency, window, **overrides):
    start, end = (t.astimezone(agency.tz).strftime(FORMAT) for t in window)
    data = {
        "title": "Shared password",
        "description": "An officer's password was seen on a note",
        "window_start": start,
        "window_end": end,
        "suspected_accounts": "mallory",
        "suspected_addresses": "",
    }
    data.update(overrides)
    return data


def _open(client, agency, suspect_log, **overrides) -> Incident:
    # The form takes minutes: widen the window to whole minutes around the entries.
    start, end = suspect_log["window"]
    window = (start - datetime.timedelta(minutes=1), end + datetime.timedelta(minutes=1))
    response = client.post("/audit/incidents/new/", _form(agency, window, **overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    with schema_context(agency.schema_name):
        return Incident.objects.latest("id")


def test_open_view_and_download(agency_a, admin_client, suspect_log):
    incident = _open(admin_client, agency_a, suspect_log)
    page = admin_client.get(f"/audit/incidents/{incident.pk}/")
    assert page.status_code == 200
    assert b'data-testid="affected-count">4 items' in page.content
    assert b"7SUS123" in page.content
    (viewed,) = events(agency_a, action=Action.INCIDENT_VIEWED, details__incident_id=incident.pk)
    assert (viewed.case_number, viewed.details["items_shown"]) == (f"INC-{incident.pk}", 4)

    csv_response = admin_client.get(f"/audit/incidents/{incident.pk}/affected.csv")
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    assert csv_response.content.decode().count("\n") == 5
    assert events(agency_a, action=Action.EXPORT, case_number=f"INC-{incident.pk}")
    assert b"Shared password" in admin_client.get("/audit/incidents/").content


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"suspected_accounts": "", "suspected_addresses": ""}, b"at least one suspected"),
        ({"suspected_addresses": "999.1.1.1"}, b"not an IP address"),
        ({"window_end": "2020-01-01T00:00"}, b"end after it starts"),
        ({"window_start": "yesterday"}, b"Enter a valid date/time"),
        ({"title": "a\x00b"}, b"Null characters are not allowed"),
    ],
)
def test_bad_input_is_a_form_error(agency_a, admin_client, suspect_log, overrides, message):
    response = admin_client.post(
        "/audit/incidents/new/", _form(agency_a, suspect_log["window"], **overrides)
    )
    assert response.status_code == 200
    assert message in response.content
    with schema_context(agency_a.schema_name):
        assert not Incident.objects.exists()


def test_edit_remove_add_notify_and_close_from_the_page(agency_a, admin_client, suspect_log):
    incident = _open(admin_client, agency_a, suspect_log)
    base = f"/audit/incidents/{incident.pk}"
    with schema_context(agency_a.schema_name):
        item = incident.items.filter(kind="search").get()
    assert admin_client.post(f"{base}/items/{item.pk}/remove/", {"note": ""}).status_code == 302
    with schema_context(agency_a.schema_name):
        assert incident.items.get(pk=item.pk).removed_at is None  # a note is required
    admin_client.post(f"{base}/items/{item.pk}/remove/", {"note": "unrelated"})
    admin_client.post(
        f"{base}/items/add/", {"kind": "other", "description": "Printout", "note": "Found"}
    )
    admin_client.post(
        f"{base}/notifications/add/",
        {
            "recipient_kind": "agency",
            "recipient": "Bravo City Police",
            "contact": "records@bravo.invalid",
            "responsible": "Chief",
            "due_on": "2026-12-31",
        },
    )
    refused = admin_client.post(f"{base}/close/", {"note": "Done"}, follow=True)
    assert b"not done yet" in refused.content
    with schema_context(agency_a.schema_name):
        notification = incident.notifications.get()
    admin_client.post(
        f"{base}/notifications/{notification.pk}/done/", {"method": "email", "note": "Sent"}
    )
    closed = admin_client.post(f"{base}/close/", {"note": "Resolved"}, follow=True)
    assert b'data-testid="incident-status">Closed' in closed.content
    changes = [
        e.details["change"]
        for e in events(agency_a, action=Action.INCIDENT_CHANGED, details__incident_id=incident.pk)
    ]
    assert changes == ["item_removed", "item_added", "notification_added", "notification_done"]
    assert (
        len(events(agency_a, action=Action.INCIDENT_CLOSED, details__incident_id=incident.pk)) == 1
    )


def test_editing_the_window_recomputes(agency_a, admin_client, suspect_log):
    incident = _open(admin_client, agency_a, suspect_log, suspected_accounts="nobody")
    with schema_context(agency_a.schema_name):
        assert not incident.items.exists()
    start, end = suspect_log["window"]
    window = (start - datetime.timedelta(minutes=1), end + datetime.timedelta(minutes=1))
    admin_client.post(f"/audit/incidents/{incident.pk}/edit/", _form(agency_a, window))
    with schema_context(agency_a.schema_name):
        assert incident.items.count() == 4
    bad = admin_client.post(
        f"/audit/incidents/{incident.pk}/edit/",
        _form(agency_a, window, suspected_addresses="nope"),
        follow=True,
    )
    assert b"not an IP address" in bad.content


def test_auditors_read_but_do_not_change(agency_a, admin_client, suspect_log):
    incident = _open(admin_client, agency_a, suspect_log)
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    assert auditor.get(f"/audit/incidents/{incident.pk}/").status_code == 200
    assert auditor.get(f"/audit/incidents/{incident.pk}/affected.csv").status_code == 200
    assert auditor.post(f"/audit/incidents/{incident.pk}/close/", {"note": "x"}).status_code == 403
    assert auditor.get("/audit/incidents/new/").status_code == 403
    officer = verified_client(agency_a, make_user(agency_a, roles=[Role.OFFICER]))
    assert officer.get(f"/audit/incidents/{incident.pk}/").status_code == 403


def test_another_agencys_incident_is_a_404(agency_a, agency_b, admin_client):
    now = datetime.datetime.now(datetime.UTC)
    with schema_context(agency_b.schema_name):
        incident_b = Incident.objects.create(
            title="B's",
            description="d",
            window_start=now - datetime.timedelta(hours=1),
            window_end=now,
            suspected_accounts=["x"],
            opened_by_username="b-admin",
        )
    with schema_context(agency_a.schema_name):
        Incident.objects.filter(pk=incident_b.pk).delete()  # ids are per schema
    base = f"/audit/incidents/{incident_b.pk}"
    assert admin_client.get(f"{base}/").status_code == 404
    assert admin_client.get(f"{base}/affected.csv").status_code == 404
    assert admin_client.post(f"{base}/close/", {"note": "x"}).status_code == 404
    with schema_context(agency_b.schema_name):
        assert Incident.objects.get(pk=incident_b.pk).status == "open"
