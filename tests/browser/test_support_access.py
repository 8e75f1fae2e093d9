"""An Administrator grants a platform staff member settings access; the staff member signs in on
the agency's host with the platform's password and code, reaches the settings and cameras only;
the Administrator sees what was done and revokes, and the open session stops at once."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import DEFAULT_PASSWORD, make_platform_staff, make_user
from tests.support import code_for, enrolled_secret

pytestmark = pytest.mark.browser


def test_the_test_database_is_in_use(db):
    assert connection.settings_dict["NAME"].startswith("test")


def test_grant_support_sign_in_scope_and_revocation(
    committed, portal_server, browser, page, sign_in
):
    if not connection.settings_dict["NAME"].startswith("test"):
        pytest.fail("The test database is not set up (run with a test that uses `db`).")
    agency = Agency.objects.get(slug="alpha")
    platform = Agency.objects.get(schema_name="public")
    tag = uuid.uuid4().hex[:8]
    admin = make_user(agency, username=f"adm-{tag}", roles=[Role.ADMINISTRATOR])
    staff = make_platform_staff(username=f"vendor-{tag}")
    staff_secret = enrolled_secret(platform, staff)

    base = sign_in(page, agency, admin)
    page.goto(f"{base}/support/")
    page.get_by_test_id("grant-new").click()
    page.fill("#id_platform_username", staff.username)
    page.check("input[name=scope][value=settings]")
    page.fill("#id_reason", f"Ticket {tag}: camera keys rotate wrongly")
    page.fill("#id_hours", "2")
    page.click("button:has-text('Grant')")
    page.wait_for_url(f"{base}/support/*/")
    assert "active" in page.get_by_test_id("grant-status").inner_text()
    grant_url = page.url

    vendor = browser.new_context().new_page()
    vendor.set_default_timeout(15_000)
    vendor.goto(f"{base}/accounts/login/")
    vendor.click("a:has-text('support sign-in')")
    vendor.fill("#id_username", staff.username)
    vendor.fill("#id_password", DEFAULT_PASSWORD)
    vendor.fill("#id_code", code_for(staff_secret))
    vendor.click("button:has-text('Sign in for support')")
    vendor.wait_for_url(f"{base}/support/session/")
    assert "Settings and cameras only" in vendor.get_by_test_id("support-session").inner_text()
    vendor.click("a:has-text('Administration: agency settings and cameras')")
    vendor.wait_for_url(f"{base}/admin/")
    body = vendor.locator("#content").inner_text()
    assert "Cameras" in body
    assert "Users" not in body
    vendor.goto(f"{base}/audit/")
    assert vendor.locator("h1").inner_text() == "Outside the support grant"
    assert "not part of it" in vendor.get_by_test_id("out-of-scope").inner_text()

    page.goto(grant_url)
    entries = page.get_by_test_id("grant-entries").inner_text()
    assert "/admin/" in entries
    assert "/audit/" in entries
    assert "Refused" in entries
    page.fill("#id_reason", "ticket closed")
    page.click("button:has-text('Revoke now')")
    page.wait_for_selector("text=revoked; 1 open session(s) ended")
    assert "revoked" in page.get_by_test_id("grant-status").inner_text()

    vendor.goto(f"{base}/admin/")
    vendor.wait_for_url(f"{base}/accounts/login/**")
    vendor.context.close()
