"""Auditor pages: who may open them, what they show, and agency separation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from audit.flags import flags_scan
from audit.models import AccessEvent, Action, Flag, FlagKind
from audit.services import record_event
from tenants.people.roles import Role
from tests.factories import make_user, search_event
from tests.support import verified_client

AUDIT_PAGES = [
    ("audit:events", {}),
    ("audit:flags", {}),
    ("audit:charts", {}),
    ("audit:reports", {}),
    ("audit:changes", {}),
    ("audit:export_csv", {}),
    ("audit:export_xlsx", {}),
]


@pytest.fixture
def auditor_a(agency_a):
    return make_user(agency_a, roles=[Role.AUDITOR])


@pytest.fixture
def auditor_client(agency_a, auditor_a):
    return verified_client(agency_a, auditor_a)


def _url(name, kwargs, agency, in_agency):
    with in_agency(agency):
        return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize(("name", "kwargs"), AUDIT_PAGES)
def test_an_officer_cannot_open_auditor_pages(agency_a, in_agency, name, kwargs):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    response = client.get(_url(name, kwargs, agency_a, in_agency))
    assert response.status_code == 403
    with in_agency(agency_a):
        assert not AccessEvent.objects.filter(action=Action.EXPORT, actor_id=officer.id).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client_a, agency_a, in_agency):
    response = client_a.get(_url("audit:events", {}, agency_a, in_agency))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_officer_cannot_see_event_page_or_review(agency_a, in_agency):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    with in_agency(agency_a):
        event = search_event(officer, case_number="")
        flags_scan(agency=agency_a)
        flag = Flag.objects.get(event=event, kind=FlagKind.NO_CASE_NUMBER)
    client = verified_client(agency_a, officer)
    assert client.get(f"/audit/events/{event.id}/").status_code == 403
    response = client.post(f"/audit/flags/{flag.id}/review/", {"note": "mine"})
    assert response.status_code == 403
    with in_agency(agency_a):
        assert Flag.objects.get(id=flag.id).reviewed_at is None


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMINISTRATOR])
def test_auditors_and_administrators_open_every_page(agency_a, in_agency, role):
    user = make_user(agency_a, roles=[role])
    officer = make_user(agency_a)
    with in_agency(agency_a):
        event = search_event(
            officer, case_number="", purpose_category="other", purpose_text="check"
        )
        flags_scan(agency=agency_a)
    client = verified_client(agency_a, user)
    for name, kwargs in AUDIT_PAGES:
        response = client.get(_url(name, kwargs, agency_a, in_agency))
        assert response.status_code == 200, name
    assert client.get(f"/audit/events/{event.id}/").status_code == 200
    assert client.get(f"/audit/users/{officer.username}/").status_code == 200


def test_event_list_filters_by_user_plate_and_outcome(agency_a, in_agency, auditor_client):
    alice = make_user(agency_a)
    bob = make_user(agency_a)
    with in_agency(agency_a):
        a1 = search_event(alice, plate="AAA111")
        a2 = search_event(alice, plate="BBB222", outcome="refused", reason="No purpose")
        b1 = search_event(bob, plate="AAA111", case_number="CASE-B")
    body = auditor_client.get(f"/audit/?user={alice.username}").content.decode()
    assert f"/audit/events/{a1.id}/" in body
    assert f"/audit/events/{a2.id}/" in body
    assert f"/audit/events/{b1.id}/" not in body

    body = auditor_client.get("/audit/?plate=aaa 111").content.decode()
    assert f"/audit/events/{a1.id}/" in body
    assert f"/audit/events/{b1.id}/" in body
    assert f"/audit/events/{a2.id}/" not in body

    body = auditor_client.get(f"/audit/?user={alice.username}&outcome=refused").content.decode()
    assert f"/audit/events/{a2.id}/" in body
    assert f"/audit/events/{a1.id}/" not in body

    body = auditor_client.get("/audit/?case_number=CASE-B").content.decode()
    assert f"/audit/events/{b1.id}/" in body
    assert f"/audit/events/{a1.id}/" not in body

    body = auditor_client.get("/audit/?element=state%3DCA&action=search").content.decode()
    assert f"/audit/events/{b1.id}/" in body


def test_keyset_pagination_walks_forward_and_back(agency_a, in_agency, auditor_client):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        ids = [search_event(officer, plate=f"PG{i}").id for i in range(55)]
    first = auditor_client.get(f"/audit/?user={officer.username}")
    assert first.context["page"].older_cursor == ids[5]
    assert [e.id for e in first.context["page"].events] == ids[::-1][:50]
    second = auditor_client.get(f"/audit/?user={officer.username}&after={ids[5]}")
    assert [e.id for e in second.context["page"].events] == ids[4::-1]
    assert second.context["page"].older_cursor is None
    back = auditor_client.get(f"/audit/?user={officer.username}&before={ids[4]}")
    assert [e.id for e in back.context["page"].events] == ids[::-1][:50]


def test_bad_filters_are_a_form_error_or_400_not_500(auditor_client):
    response = auditor_client.get("/audit/?date_from=2026-11-10&date_to=2026-11-01")
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert auditor_client.get("/audit/?after=abc").status_code == 400
    assert auditor_client.get("/audit/?element=nonsense").status_code == 200
    assert auditor_client.get("/audit/export.csv?date_from=notadate").status_code == 400


def test_agency_a_auditor_never_sees_agency_b_events(agency_a, agency_b, in_agency, auditor_client):
    officer_b = make_user(agency_b, username="bravo-only-officer")
    with in_agency(agency_a):
        a_max = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        a_flag_max = Flag.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with in_agency(agency_b), connection.cursor() as cursor:
        # Make B's ids ones that A has not used, so a 404 is the only right answer.
        for table, value in (("audit_accessevent", a_max), ("audit_flag", a_flag_max)):
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                "GREATEST(%s, (SELECT last_value FROM pg_sequences "
                "WHERE schemaname = %s AND sequencename = %s)) + 1000)",
                [table, value, agency_b.schema_name, f"{table}_id_seq"],
            )
    with in_agency(agency_b):
        b_event = search_event(officer_b, plate="BRAVO99", case_number="")
        flags_scan(agency=agency_b)
        b_flag = Flag.objects.filter(event=b_event).first()
    assert auditor_client.get(f"/audit/events/{b_event.id}/").status_code == 404
    assert auditor_client.get("/audit/users/bravo-only-officer/").status_code == 404
    assert b_flag.id not in _a_flag_ids(agency_a, in_agency)
    assert (
        auditor_client.post(f"/audit/flags/{b_flag.id}/review/", {"note": "x"}).status_code == 404
    )
    body = auditor_client.get("/audit/?plate=BRAVO99").content.decode()
    assert "bravo-only-officer" not in body
    csv_body = b"".join(auditor_client.get("/audit/export.csv").streaming_content).decode()
    assert "bravo-only-officer" not in csv_body
    assert "BRAVO99" not in csv_body
    # The same pages on B's host, for B's own auditor, do show it.
    auditor_b = make_user(agency_b, roles=[Role.AUDITOR])
    client_b = verified_client(agency_b, auditor_b)
    assert client_b.get(f"/audit/events/{b_event.id}/").status_code == 200


def _a_flag_ids(agency, in_agency):
    with in_agency(agency):
        return set(Flag.objects.values_list("id", flat=True))


def test_event_page_shows_local_and_utc_time_and_hash(agency_a, in_agency, auditor_client):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        event = search_event(officer)
    body = auditor_client.get(f"/audit/events/{event.id}/").content.decode()
    assert event.entry_hash in body
    assert event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") in body
    assert agency_a.timezone in body


def test_reviewing_a_flag_is_logged_once(agency_a, in_agency, auditor_client, auditor_a):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        event = search_event(officer, case_number="")
        flags_scan(agency=agency_a)
        flag = Flag.objects.get(event=event, kind=FlagKind.NO_CASE_NUMBER)
        before = AccessEvent.objects.filter(action=Action.FLAG_REVIEWED).count()
    empty = auditor_client.post(f"/audit/flags/{flag.id}/review/", {"note": "  "}, follow=True)
    assert "Write a note" in empty.content.decode()
    response = auditor_client.post(
        f"/audit/flags/{flag.id}/review/", {"note": "Case 24-1 added later by sergeant."}
    )
    assert response.status_code == 302
    again = auditor_client.post(f"/audit/flags/{flag.id}/review/", {"note": "twice"}, follow=True)
    assert "already reviewed" in again.content.decode()
    with in_agency(agency_a):
        flag.refresh_from_db()
        assert flag.reviewed_by_id == auditor_a.id
        assert flag.review_note == "Case 24-1 added later by sergeant."
        logged = AccessEvent.objects.filter(action=Action.FLAG_REVIEWED).order_by("-id")
        assert logged.count() == before + 1
        entry = logged.first()
        assert entry.actor_id == auditor_a.id
        assert entry.related_event_id == event.id
        assert {"type": "flag", "id": str(flag.id)} in entry.objects_touched


def test_flags_page_lists_open_flags_and_refresh_scans(agency_a, in_agency, auditor_client):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        event = search_event(officer, outcome="refused", reason="Training lapsed")
    response = auditor_client.post("/audit/flags/refresh/")
    assert response.status_code == 302
    body = auditor_client.get("/audit/flags/?kind=refused").content.decode()
    assert f"/audit/events/{event.id}/" in body
    assert "The search was refused: Training lapsed" in body


def test_charts_render_svg_per_category_and_user(agency_a, in_agency, auditor_client):
    officer = make_user(agency_a, username="chart-officer")
    with in_agency(agency_a):
        search_event(officer, purpose_category="amber_alert")
        search_event(officer, purpose_category="stolen_vehicle")
        record_event(action=Action.LOGIN, actor=officer)
    body = auditor_client.get("/audit/charts/").content.decode()
    assert body.count("<svg") == 2
    assert "amber_alert" in body
    assert "stolen_vehicle" in body
    assert "chart-officer" in body
    # The charts are drawn on the server: no script but the portal's own (its menu).
    portal_script = '<script src="/static/js/portal.js"></script>'
    assert "<script" not in body.split("</header>")[1].replace(portal_script, "")
    user_page = auditor_client.get("/audit/users/chart-officer/").content.decode()
    assert "<svg" in user_page
    assert "amber_alert" in user_page


def test_configuration_changes_are_listed(agency_a, in_agency, auditor_client):
    make_user(agency_a, username="changed-person")
    body = auditor_client.get("/audit/changes/").content.decode()
    assert "changed-person" in body
