"""Nightly verification, weekly reports, retention: the per-agency jobs and what they record."""

from __future__ import annotations

import datetime

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit.checkpoint import verify_and_record
from audit.models import AccessEvent, Action, AuditReport, Flag
from audit.reports import report_create
from audit.tasks import build_report, scan_all_flags, verify_all_logs, verify_log, weekly_reports
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_user, search_event
from tests.support import details_of, verified_client


def test_verification_is_recorded_as_an_audit_verified_event(agency_a, in_agency):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        search_event(officer)
        details = verify_log(agency_a.id)
        entry = AccessEvent.objects.filter(action=Action.AUDIT_VERIFIED).order_by("-id").first()
    assert details["ok"] is True
    assert entry.outcome == "allowed"
    assert entry.details["head_hash"] == details["head_hash"]
    assert "access log intact" in entry.reason


def test_a_broken_chain_is_recorded_as_failed(agency_a, in_agency):
    officer = make_user(agency_a)
    with in_agency(agency_a):
        event = search_event(officer)
        search_event(officer)
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER USER")
            cursor.execute(
                "UPDATE audit_accessevent SET case_number = 'edited' WHERE id = %s", [event.id]
            )
            cursor.execute("ALTER TABLE audit_accessevent ENABLE TRIGGER USER")
        result = verify_and_record()
        entry = AccessEvent.objects.filter(action=Action.AUDIT_VERIFIED).order_by("-id").first()
    assert not result.ok
    assert entry.outcome == "failed"
    assert entry.details["broken_id"] == event.id


def test_a_task_refuses_to_run_in_the_wrong_schema(agency_a, agency_b, in_agency):
    import pytest

    with in_agency(agency_b), pytest.raises(RuntimeError, match="refusing"):
        verify_log(agency_a.id)


def test_dispatchers_fan_out_one_task_per_agency(db, django_capture_on_commit_callbacks):
    """The messages themselves (schema, arguments) are checked in tests/tenants/test_fanout.py."""
    agencies = Agency.objects.exclude(schema_name="public").count()
    with django_capture_on_commit_callbacks() as sends:
        assert verify_all_logs() == agencies + 1  # and the platform's own log
        assert scan_all_flags() == agencies
        assert weekly_reports() == agencies
    assert len(sends) == 3 * agencies + 1


def test_weekly_report_is_stored_logged_and_downloadable(agency_a, agency_b, in_agency):
    officer = make_user(agency_a, username="report-officer")
    auditor = make_user(agency_a, roles=[Role.AUDITOR])
    end = timezone.now() + datetime.timedelta(seconds=1)
    start = end - datetime.timedelta(days=7)
    with in_agency(agency_a):
        search_event(officer, purpose_category="amber_alert", case_number="")
        search_event(officer, purpose_category="stolen_vehicle", outcome="refused", reason="x")
        report_id = build_report(agency_a.id, start=start.isoformat(), end=end.isoformat())
        report = AuditReport.objects.get(id=report_id)
        logged = AccessEvent.objects.filter(action=Action.REPORT).order_by("-id").first()
        assert Flag.objects.filter(actor_username="report-officer").exists()
    assert report.chain_ok
    assert report.summary["searches"] >= 2
    assert "amber_alert" in report.body
    assert "report-officer" in report.body
    assert "Intact:" in report.body
    assert logged.objects_touched == [{"type": "audit_report", "id": str(report.id)}]

    client = verified_client(agency_a, auditor)
    assert "Intact" in client.get(f"/audit/reports/{report.id}/").content.decode()
    response = client.get(f"/audit/reports/{report.id}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"report-officer" in response.content
    with in_agency(agency_a):
        export = AccessEvent.objects.filter(action=Action.EXPORT).order_by("-id").first()
        assert details_of(export) == {"format": "md", "what": "audit_report"}
        assert export.actor_id == auditor.id
    # Agency B's auditor cannot reach A's report.
    with in_agency(agency_b):
        taken = set(AuditReport.objects.values_list("id", flat=True))
    if report.id not in taken:
        auditor_b = make_user(agency_b, roles=[Role.AUDITOR])
        client_b = verified_client(agency_b, auditor_b)
        assert client_b.get(f"/audit/reports/{report.id}/").status_code == 404


def test_report_generate_button(agency_a, in_agency):
    auditor = make_user(agency_a, roles=[Role.AUDITOR])
    client = verified_client(agency_a, auditor)
    response = client.post("/audit/reports/generate/")
    assert response.status_code == 302
    with in_agency(agency_a):
        report = AuditReport.objects.order_by("-id").first()
        assert response["Location"] == f"/audit/reports/{report.id}/"
        assert report_create  # the same service as the weekly job


def test_verify_command_covers_every_agency_and_the_platform(db, capsys):
    call_command("verify_audit_log")
    out = capsys.readouterr().out
    assert "platform (public): access log intact" in out
    assert "alpha (alpha): access log intact" in out
    assert "bravo (bravo): access log intact" in out


def test_demo_seed_gives_the_auditor_history_flags_and_a_report(agency_a, in_agency):
    import io

    from alpr_portal.demo import access_log
    from audit.chain import verify_chain
    from captures.models import AuthorizedPurpose

    out = io.StringIO()
    access_log.seed(agency=agency_a, stdout=out)
    access_log.seed(agency=agency_a, stdout=out)
    assert "already seeded" in out.getvalue()
    with in_agency(agency_a):
        searches = AccessEvent.objects.filter(action=Action.SEARCH, actor_username="officer")
        assert searches.count() > 20
        # The agency's own purpose names (as its search form offers them), no seed markers.
        offered = set(AuthorizedPurpose.objects.values_list("name", flat=True))
        used = set(searches.exclude(purpose_category="").values_list("purpose_category", flat=True))
        assert len(used) >= 3
        assert used <= offered
        assert not AccessEvent.objects.filter(details__has_key="demo_seed").exists()
        kinds = set(Flag.objects.values_list("kind", flat=True))
        assert {"no_case_number", "vague_purpose", "shared_plate", "refused"} <= kinds
        assert AuditReport.objects.exists()
        assert verify_chain().ok
