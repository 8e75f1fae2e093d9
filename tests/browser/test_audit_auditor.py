"""An auditor filters the access log by a user, reviews a flagged search and exports CSV."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from audit.flags import flags_scan
from audit.models import AccessEvent, Action, Flag, FlagKind
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_user, search_event

pytestmark = pytest.mark.browser


def test_the_test_database_is_in_use(db):
    """pytest-django creates the test database only for sessions with a ``db`` test; this is one,
    so this module run on its own never writes to the development database."""
    assert connection.settings_dict["NAME"].startswith("test")


def test_auditor_filters_reviews_a_flag_and_exports_csv(
    committed, portal_server, page, sign_in, monkeypatch
):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls here are sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not connection.settings_dict["NAME"].startswith("test"):
        pytest.fail("The test database is not set up (run with a test that uses `db`).")
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:8]
    auditor = make_user(agency, username=f"aud-{tag}", roles=[Role.AUDITOR])
    officer = make_user(agency, username=f"off-{tag}")
    other = make_user(agency, username=f"oth-{tag}")
    plate = f"BR{tag[:5].upper()}"
    with schema_context(agency.schema_name):
        flagged = search_event(officer, plate=plate, case_number="")
        search_event(officer, plate=f"{plate}X")
        search_event(other, plate=plate)
        flags_scan(agency=agency)
        assert Flag.objects.filter(event=flagged, kind=FlagKind.NO_CASE_NUMBER).exists()

    sign_in(page, agency, auditor)
    base = f"http://alpha.localhost:{portal_server}"
    page.goto(f"{base}/audit/")
    assert page.locator("h1").inner_text() == "Access log"

    page.fill("#id_user", officer.username)
    page.click("button:has-text('Filter')")
    page.wait_for_url(f"**/audit/?user={officer.username}*")
    users = page.locator("[data-testid=events] tbody tr td:nth-child(3)").all_inner_texts()
    assert users
    assert set(users) == {officer.username}

    page.click(f"a[href='/audit/events/{flagged.id}/']")
    flag_card = page.locator("[data-testid=flag-no_case_number]")
    assert "The search names no case number." in flag_card.inner_text()
    flag_card.locator("textarea").fill("Case number 26-4411 confirmed with the sergeant.")
    flag_card.locator("button:has-text('Mark reviewed')").click()
    page.wait_for_selector("text=marked reviewed")
    assert (
        f"Reviewed by {auditor.username}"
        in page.locator("[data-testid=flag-no_case_number]").inner_text()
    )

    page.goto(f"{base}/audit/?user={officer.username}")
    with page.expect_download() as download_info:
        page.click("[data-testid=export-csv]")
    download = download_info.value
    assert download.suggested_filename.startswith("access-log-alpha-")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows
    assert {r["username"] for r in rows} == {officer.username}
    assert str(flagged.id) in {r["id"] for r in rows}

    with schema_context(agency.schema_name):
        flag = Flag.objects.get(event=flagged, kind=FlagKind.NO_CASE_NUMBER)
        assert flag.reviewed_by_id == auditor.id
        assert (
            AccessEvent.objects.filter(
                action=Action.FLAG_REVIEWED, actor_id=auditor.id, related_event_id=flagged.id
            ).count()
            == 1
        )
        export = AccessEvent.objects.get(action=Action.EXPORT, actor_id=auditor.id)
        assert export.query == {"user": officer.username}
