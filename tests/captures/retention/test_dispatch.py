"""The hourly dispatcher: each agency is purged at its own purge hour, in its own time zone."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from alpr_portal.celery import app
from captures.models import Capture
from captures.retention.selectors import agencies_due, is_purge_hour
from captures.tasks import purge_dispatch
from tenants.models import Agency
from tests.factories import make_camera, make_stored_capture

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


@pytest.fixture
def hours(agency_a, agency_b):
    """A: 03:00 in Los Angeles (UTC-8 in November); B: 03:00 in Berlin (UTC+1)."""
    Agency.objects.filter(pk=agency_a.pk).update(timezone="America/Los_Angeles", purge_hour=3)
    Agency.objects.filter(pk=agency_b.pk).update(timezone="Europe/Berlin", purge_hour=3)


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.parametrize(
    ("utc_time", "expected"),
    [
        (datetime.datetime(2026, 11, 20, 11, 5, tzinfo=UTC), ["alpha"]),  # 03:05 in LA
        (datetime.datetime(2026, 11, 20, 2, 5, tzinfo=UTC), ["bravo"]),  # 03:05 in Berlin
        (datetime.datetime(2026, 11, 20, 3, 5, tzinfo=UTC), []),  # 03:05 UTC: nobody's hour
        (datetime.datetime(2026, 7, 20, 10, 5, tzinfo=UTC), ["alpha"]),  # summer time in LA
    ],
)
def test_only_agencies_whose_purge_hour_it_is_are_due(hours, utc_time, expected):
    due = [a.slug for a in agencies_due(now=utc_time) if a.slug in {"alpha", "bravo"}]
    assert due == expected


@pytest.mark.parametrize(
    ("purge_hour", "utc_time", "due"),
    [
        # 8 March 2026, Los Angeles: 02:00 PST jumps to 03:00 PDT; hour 2 never happens.
        (2, datetime.datetime(2026, 3, 8, 10, 5, tzinfo=UTC), True),  # 03:05 PDT: runs now
        (2, datetime.datetime(2026, 3, 8, 11, 5, tzinfo=UTC), False),
        (3, datetime.datetime(2026, 3, 8, 10, 5, tzinfo=UTC), True),
        # 1 November 2026: 02:00 PDT goes back to 01:00 PST; hour 1 happens twice.
        (1, datetime.datetime(2026, 11, 1, 8, 5, tzinfo=UTC), True),  # 01:05 PDT
        (1, datetime.datetime(2026, 11, 1, 9, 5, tzinfo=UTC), False),  # 01:05 PST: not again
        (0, datetime.datetime(2026, 11, 1, 7, 59, tzinfo=UTC), True),  # 00:59 PDT
    ],
)
def test_daylight_saving_days_purge_exactly_once(agency_a, purge_hour, utc_time, due):
    agency_a.timezone = "America/Los_Angeles"
    agency_a.purge_hour = purge_hour
    assert is_purge_hour(agency_a, now=utc_time) is due


def test_dispatcher_runs_the_purge_in_the_due_agencys_schema_only(
    agency_a, agency_b, hours, eager, django_capture_on_commit_callbacks
):
    now = datetime.datetime(2026, 11, 20, 11, 5, tzinfo=UTC)
    old = now - datetime.timedelta(days=40)
    a_old = make_stored_capture(agency_a, make_camera(agency_a), captured_at=old)
    b_old = make_stored_capture(agency_b, make_camera(agency_b), captured_at=old)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sent = purge_dispatch(now.isoformat())
    assert "alpha" in sent
    assert "bravo" not in sent
    assert len(callbacks) == len(sent)
    with schema_context(agency_a.schema_name):
        assert not Capture.objects.filter(pk=a_old.pk).exists()
    with schema_context(agency_b.schema_name):
        assert Capture.objects.filter(pk=b_old.pk).exists()


def test_beat_runs_the_dispatcher_hourly_and_the_worker_imports_the_tasks():
    entry = settings.CELERY_BEAT_SCHEDULE["retention-purge-dispatch"]
    assert entry["task"] == "captures.purge.purge_dispatch"
    assert entry["schedule"].minute == {5}
    assert entry["schedule"].hour == set(range(24))
    assert not hasattr(settings, "CELERY_IMPORTS")  # every task module is a tasks.py
    app.loader.import_default_modules()
    assert {"captures.purge.purge_dispatch", "captures.purge.purge_agency"} <= set(app.tasks)
