"""The change history in words and in the agency's time zone; the admin in that zone too."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from auditlog.context import set_actor
from django.utils.formats import date_format
from django_tenants.utils import schema_context

from audit.models import LogPolicy
from tenants.people.roles import Role
from tenants.services import agency_settings_update
from tests.factories import make_camera, make_user
from tests.support import verified_client

pytestmark = pytest.mark.django_db


def _rows(body: str) -> list[str]:
    table = body.partition('data-testid="changes"')[2]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for row in table.split("<tr>")[2:]]


def test_changes_read_as_sentences_in_the_agency_time_zone(agency_a):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR], username="chief-words")
    before = agency_a.retention_days
    with schema_context(agency_a.schema_name), set_actor(admin):
        agency_settings_update(agency=agency_a, changes={"retention_days": 14}, actor=admin)
        camera = make_camera(agency_a, name="Words camera")
        camera.name = "Words camera (moved)"
        camera.save()
        policy, _ = LogPolicy.objects.get_or_create(pk=1, defaults={"retention_days": 500})
        policy.retention_days = 400 if policy.retention_days != 400 else 401
        policy.save()
    try:
        auditor = make_user(agency_a, roles=[Role.AUDITOR])
        body = verified_client(agency_a, auditor).get("/audit/changes/").content.decode()
    finally:
        agency_settings_update(agency=agency_a, changes={"retention_days": before})
    rows = _rows(body)
    assert any(
        f"Retention changed from {before} days to 14 days by chief-words." in r for r in rows
    ), rows[:5]
    assert any(
        "Name changed from Words camera to Words camera (moved) by chief-words." in r for r in rows
    )
    assert any(
        "Access-log retention changed from" in r and f"to {policy.retention_days} days by" in r
        for r in rows
    )
    assert '<pre class="json">' not in body
    # Times are the agency's (Los Angeles: PST/PDT), and the page says so.
    assert f"Times are {agency_a.timezone}." in body
    stamp = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', body)
    assert stamp.group(2).endswith(("PST", "PDT"))
    assert stamp.group(1).endswith(("-08:00", "-07:00"))


def test_the_admin_shows_times_in_the_agency_time_zone(agency_a):
    assert zoneinfo.ZoneInfo(agency_a.timezone).key != "UTC"
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, admin)
    body = client.get("/admin/auth/user/").content.decode()
    assert f"Times are in {agency_a.timezone}." in body
    page = client.get(f"/admin/auth/user/{admin.pk}/change/").content.decode()
    joined = admin.date_joined.astimezone(zoneinfo.ZoneInfo(agency_a.timezone))
    utc = admin.date_joined.astimezone(zoneinfo.ZoneInfo("UTC"))
    # The read-only "date joined" as the agency's wall clock shows it, not UTC.
    assert date_format(joined, "DATETIME_FORMAT") in page
    assert date_format(utc, "DATETIME_FORMAT") not in page
