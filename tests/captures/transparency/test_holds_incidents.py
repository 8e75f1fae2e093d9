"""The transparency page counts active legal holds and incidents per year from the data."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from audit.incidents.models import Incident
from captures.holds.services import Who, hold_release
from tests.factories import make_capture, make_hold

pytestmark = pytest.mark.django_db


def _incident(agency, opened_at):
    with schema_context(agency.schema_name):
        return Incident.objects.create(
            title="t",
            description="d",
            window_start=opened_at - datetime.timedelta(hours=1),
            window_end=opened_at,
            suspected_accounts=["x"],
            opened_by_username="admin",
            opened_at=opened_at,
        )


def _page(agency) -> str:
    response = Client(HTTP_HOST=f"{agency.slug}.localhost").get("/transparency/")
    assert response.status_code == 200
    return response.content.decode()


def test_active_holds_and_incidents_per_year(agency_a, agency_b):
    page = _page(agency_a)
    assert re.search(r'data-testid="active-holds"><strong>0</strong>', page)
    assert "No incident" in page

    holds = [make_hold(agency_a, [make_capture(agency_a)]) for _ in range(3)]
    with schema_context(agency_a.schema_name):
        hold_release(who=Who(username="system:test"), hold_id=holds[0].pk, reason="done")
    make_hold(agency_b, [make_capture(agency_b)])  # B's own
    _incident(agency_a, datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC))
    _incident(agency_a, datetime.datetime(2025, 7, 1, tzinfo=datetime.UTC))
    _incident(agency_a, datetime.datetime.now(datetime.UTC))

    page = _page(agency_a)
    assert re.search(r'data-testid="active-holds"><strong>2</strong>', page)
    table = page.split('data-testid="incidents-by-year"')[1].split("</table>")[0]
    this_year = datetime.datetime.now(agency_a.tz).year
    assert re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td></tr>", table) == [
        (str(this_year), "1"),
        ("2025", "2"),
    ]
    assert re.search(r'data-testid="active-holds"><strong>1</strong>', _page(agency_b))
    assert "No incident" in _page(agency_b)
