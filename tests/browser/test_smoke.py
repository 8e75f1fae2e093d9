"""The landing page and an agency's sign-in page render in a real browser."""

import pytest

pytestmark = pytest.mark.browser


def test_platform_landing_page_lists_agencies(portal_server, page):
    page.goto(f"http://localhost:{portal_server}/")
    assert page.locator("h1").inner_text() == "ALPR Portal"
    assert page.get_by_text("Alpha County Sheriff").is_visible()
    # The stylesheet is served (no external CDN), so the page is styled.
    background = page.evaluate(
        "getComputedStyle(document.querySelector('.topbar')).backgroundColor"
    )
    assert background == "rgb(15, 37, 64)"


def test_agency_sign_in_page_renders(portal_server, page):
    page.goto(f"http://alpha.localhost:{portal_server}/")
    assert "/accounts/login/" in page.url
    assert page.locator("h1").inner_text() == "Sign in to Alpha County Sheriff"
    assert page.locator("input[name=username]").is_visible()
    assert page.locator("input[name=password]").is_visible()
