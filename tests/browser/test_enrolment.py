"""First sign-in in a real browser: password, enrol an authenticator from the page, reach home."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from tenants.models import Agency
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import code_for

pytestmark = pytest.mark.browser


def _password_step(page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")


def test_enrol_in_the_browser_then_the_same_code_is_refused(
    committed, portal_server, page, browser, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; these ORM calls are plain sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # pytest-django only sets up the test database when a collected test asks for `db`.
    assert settings.DATABASES["default"]["NAME"].startswith("test"), (
        "run with at least one database test (e.g. tests/tenants/people) so the test database is used"
    )
    username = f"enrol-{uuid.uuid4().hex[:10]}"
    make_user(Agency.objects.get(slug="alpha"), username=username)  # committed for the server
    base = f"http://alpha.localhost:{portal_server}"

    _password_step(page, base, username)
    page.wait_for_url("**/accounts/login/enrol/**")
    qr = page.get_by_test_id("totp-qr")
    assert qr.is_visible()
    # The QR is a data: URI rendered by the server, and the CSP lets it show.
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert page.evaluate("document.querySelector('[data-testid=totp-qr]').naturalWidth") > 0
    secret = page.get_by_test_id("totp-secret").get_attribute("data-secret")
    shown = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    assert shown == secret
    assert len(secret) == 32

    page.fill("input[name=code]", "000000")
    page.click("button[type=submit]")
    assert "not right or has expired" in page.get_by_test_id("code-error").inner_text()

    code = code_for(secret)
    page.fill("input[name=code]", code)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/backup-codes/**")
    assert page.get_by_test_id("backup-codes").locator("li").count() == 10
    page.get_by_role("link", name="I have kept them — continue").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_test_id("current-user").inner_text() == username
    assert page.locator("h1").inner_text() == "Alpha County Sheriff"

    # Another browser, same account, same code: refused as already used.
    context = browser.new_context()
    try:
        other = context.new_page()
        other.set_default_timeout(15_000)
        _password_step(other, base, username)
        other.wait_for_url("**/accounts/login/code/**")
        other.fill("input[name=code]", code)
        other.click("button[type=submit]")
        assert "already used" in other.get_by_test_id("code-error").inner_text()
        assert "/accounts/login/code/" in other.url
    finally:
        context.close()

    # Signing out ends the session: home now asks to sign in again.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")
    page.goto(f"{base}/")
    assert "/accounts/login/" in page.url
