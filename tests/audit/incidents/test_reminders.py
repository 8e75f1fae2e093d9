"""Reminders of notifications due: a daily e-mail to the custodian (Django's mail backend,
locmem in tests), once a day, while notifications are due or overdue."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from audit.incidents.services import Scope, incident_open, notification_add, notification_done
from audit.models import Action
from audit.tasks import incident_reminders, incident_reminders_all
from tenants.models import Agency
from tests.support import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def custodian(agency_a):
    Agency.objects.filter(pk=agency_a.pk).update(contact_email="custodian@alpha.invalid")
    agency_a.refresh_from_db()
    return agency_a


@pytest.fixture
def incident(custodian, admin_request):
    now = datetime.datetime.now(datetime.UTC)
    scope = Scope(
        window_start=now - datetime.timedelta(days=1),
        window_end=now,
        accounts=["mallory"],
        addresses=[],
    )
    with schema_context(custodian.schema_name):
        return incident_open(
            request=admin_request, title="Lost laptop", description="x", scope=scope
        )


def _notify(agency, request, incident, due_on, recipient="Jane Roe"):
    with schema_context(agency.schema_name):
        return notification_add(
            request=request,
            incident_id=incident.pk,
            recipient_kind="person",
            recipient=recipient,
            contact="jane@example.org",
            responsible="Sgt. Diaz",
            due_on=due_on,
        )


def test_the_custodian_is_reminded_once_a_day_while_notifications_are_due(
    custodian, admin_request, incident
):
    today = datetime.datetime.now(custodian.tz).date()
    overdue = _notify(custodian, admin_request, incident, today - datetime.timedelta(days=2))
    _notify(custodian, admin_request, incident, today + datetime.timedelta(days=30), "Later")
    with schema_context(custodian.schema_name):
        assert incident_reminders(custodian.pk) == 1
        assert incident_reminders(custodian.pk) == 0  # not twice the same day
    (message,) = mail.outbox
    assert message.to == ["custodian@alpha.invalid"]
    assert f"INC-{incident.pk}" in message.body
    assert "Jane Roe" in message.body
    assert "OVERDUE" in message.body
    assert "Later" not in message.body
    (entry,) = events(custodian, action=Action.INCIDENT_REMINDER, details__incident_id=incident.pk)
    assert entry.details["notifications"] == [overdue.pk]

    with schema_context(custodian.schema_name):
        from audit.incidents.services import reminders_send

        assert reminders_send(agency=custodian, today=today + datetime.timedelta(days=1)) == 1
        notification_done(
            request=admin_request,
            incident_id=incident.pk,
            notification_id=overdue.pk,
            method="letter",
            note="",
        )
        assert reminders_send(agency=custodian, today=today + datetime.timedelta(days=2)) == 0
    assert len(mail.outbox) == 2


def test_without_a_custodian_email_nothing_is_sent(agency_a, admin_request):
    Agency.objects.filter(pk=agency_a.pk).update(contact_email="")
    agency_a.refresh_from_db()
    now = datetime.datetime.now(datetime.UTC)
    with schema_context(agency_a.schema_name):
        incident = incident_open(
            request=admin_request,
            title="t",
            description="d",
            scope=Scope(now - datetime.timedelta(hours=1), now, ["x"], []),
        )
    _notify(agency_a, admin_request, incident, datetime.date(2020, 1, 1))
    with schema_context(agency_a.schema_name):
        assert incident_reminders(agency_a.pk) == 0
    assert mail.outbox == []


def test_the_daily_dispatcher_fans_out_one_task_per_agency(db, django_capture_on_commit_callbacks):
    agencies = Agency.objects.exclude(schema_name="public").count()
    with django_capture_on_commit_callbacks() as sends:
        assert incident_reminders_all() == agencies
    assert len(sends) == agencies


def test_the_beat_schedule_runs_the_reminders_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-incident-reminders-daily"]
    assert entry["task"] == "audit.tasks.incident_reminders_all"
