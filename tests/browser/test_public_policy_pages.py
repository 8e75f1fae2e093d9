"""An agency's policy and transparency pages in a real browser, signed out, under the CSP."""

import pytest

pytestmark = pytest.mark.browser


def test_policy_and_transparency_pages_render_without_sign_in(portal_server, page):
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    failed: list[str] = []
    page.on(
        "response",
        lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
    )

    page.goto(f"http://alpha.localhost:{portal_server}/policy/")
    assert "/accounts/login/" not in page.url
    assert page.locator("h1").inner_text().startswith("Alpha County Sheriff: usage and privacy")
    assert page.get_by_role("heading", name="Retention and purge").is_visible()
    assert page.get_by_test_id("policy-updated").inner_text().startswith("Last changed")

    page.get_by_role("link", name="transparency figures").click()
    page.wait_for_url("**/transparency/")
    assert page.locator("h1").inner_text() == "Alpha County Sheriff: transparency"
    retention = page.get_by_test_id("retention-days").inner_text()
    assert 1 <= int(retention) <= 30
    assert page.get_by_test_id("shared").inner_text() == "Agencies the data is shared with: none."
    # The page's own stylesheet applies (figures are large), and nothing broke the CSP.
    size = page.evaluate(
        "getComputedStyle(document.querySelector('[data-testid=captures]')).fontSize"
    )
    assert size == "32px"
    assert not failed, failed
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
