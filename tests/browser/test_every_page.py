"""Every page of each role at desktop size and at a phone's 390 px: no horizontal scrolling,
no serious or critical accessibility problem (axe-core), a screenshot kept in
var/test-artifacts/<size>/ for people to look at; and the pieces that make the pages usable on
a phone and by keyboard (navigation that collapses, results before the form, the skip link,
purpose fields first)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.flags import flags_scan
from captures.models import AuthorizedPurpose
from tenants.models import Agency
from tenants.people.models import LoginLock
from tenants.people.roles import Role
from tests.factories import make_camera, make_capture, make_user, search_event

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))
  }));
}"""


def test_the_test_database_is_in_use(db):
    assert connection.settings_dict["NAME"].startswith("test")


class Checker:
    """Looks at each page once: overflow, axe, screenshot; collects what is wrong."""

    def __init__(self, page, axe_source: str, folder):
        self.page = page
        self.axe_source = axe_source
        self.problems: list[str] = []
        self.seen: list[str] = []
        self.folder = folder

    def check(self, name: str, url: str | None = None, *, status: int = 200) -> None:
        page = self.page
        if url is not None:
            response = page.goto(url)
            if response is None or response.status != status:
                got = response.status if response else None
                self.problems.append(f"{name}: status {got}, expected {status} ({url})")
        page.wait_for_load_state("load")
        self.seen.append(name)
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if wide > 1:
            culprit = page.evaluate(
                """() => { const w = window.innerWidth; const out = [];
                for (const el of document.querySelectorAll('body *')) {
                  const r = el.getBoundingClientRect();
                  if (r.right > w + 1 && getComputedStyle(el).position !== 'fixed')
                    out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
                  if (out.length > 4) break; }
                return out.join(', '); }"""
            )
            self.problems.append(f"{name}: {wide}px of horizontal scrolling ({culprit})")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.axe_source)
        for v in page.evaluate(AXE_RUN):
            if v["impact"] in SERIOUS:
                where = "; ".join(v["nodes"])
                self.problems.append(f"{name}: axe {v['impact']} {v['id']} ({v['help']}): {where}")
        safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        page.screenshot(path=str(self.folder / f"{safe}.png"), full_page=True)

    def check_navigation(self, base: str) -> None:
        """Every page the main navigation offers this person (new pages join by themselves)."""
        hrefs = self.page.eval_on_selector_all(
            "#mainnav a", "links => links.map(a => a.getAttribute('href'))"
        )
        assert hrefs
        for href in hrefs:
            self.check(f"nav{href.rstrip('/').replace('/', '-')}", f"{base}{href}")

    def assert_clean(self) -> None:
        assert self.seen
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def world(committed, monkeypatch):
    """One agency's users of every role and something on each of their pages."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not connection.settings_dict["NAME"].startswith("test"):
        pytest.fail("The test database is not set up.")
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:8]
    people = {
        "officer": make_user(agency, username=f"pg-off-{tag}", roles=[Role.OFFICER]),
        "auditor": make_user(agency, username=f"pg-aud-{tag}", roles=[Role.AUDITOR]),
        "admin": make_user(agency, username=f"pg-adm-{tag}", roles=[Role.ADMINISTRATOR]),
    }
    locked = make_user(agency, username=f"pg-locked-{tag}")
    plate = f"7P{tag[:5].upper()}"
    camera = make_camera(agency, name=f"Pages {tag}", latitude=34.05, longitude=-118.25)
    capture = make_capture(agency, camera=camera, plate=plate, confidence=0.62)
    with schema_context(agency.schema_name):
        LoginLock.objects.create(username=locked.username, failures=5, locked_at=timezone.now())
        event = search_event(people["officer"], plate=plate, case_number="")
        flags_scan(agency=agency)
        purpose = AuthorizedPurpose.objects.get(name="Stolen vehicle")
    return {
        "agency": agency,
        "people": people,
        "locked": locked,
        "plate": plate,
        "capture": capture,
        "event": event,
        "purpose": purpose,
    }


def test_public_pages(portal_server, sized_page, axe_source, artifact_folder, world):
    checker = Checker(sized_page, axe_source, artifact_folder)
    base = f"http://alpha.localhost:{portal_server}"
    checker.check("platform-landing", f"http://localhost:{portal_server}/")
    checker.check("sign-in", f"{base}/accounts/login/")
    checker.check("policy", f"{base}/policy/")
    checker.check("transparency", f"{base}/transparency/")
    checker.check("not-found-anonymous", f"{base}/no-such-page/", status=404)
    checker.assert_clean()


def test_officer_pages(portal_server, sized_page, sign_in, axe_source, artifact_folder, world):
    page = sized_page
    checker = Checker(page, axe_source, artifact_folder)
    officer = world["people"]["officer"]
    base = sign_in(page, world["agency"], officer)
    checker.check("officer-home", f"{base}/")
    assert page.get_by_test_id("task-review").is_visible()
    checker.check_navigation(base)
    checker.check("search-form", f"{base}/search/")
    # The purpose comes first in the tab order, before what is searched for.
    first = page.evaluate(
        """() => [...document.querySelectorAll(
          'form.search-form select, form.search-form input, form.search-form textarea'
        )].filter(e => e.type !== 'hidden' && e.tabIndex >= 0)[0].name"""
    )
    assert first == "purpose"
    assert (
        page.evaluate(
            'document.querySelectorAll(\'[tabindex]:not([tabindex="-1"]):not([tabindex="0"])\').length'
        )
        == 0
    )
    page.select_option("select[name=purpose]", str(world["purpose"].pk))
    page.fill("input[name=case_number]", "2026-PG-19")
    page.fill("textarea[name=purpose_text]", "Stolen grey sedan reported at 5th and Pine")
    page.fill("input[name=plate]", world["plate"])
    page.click("form.search-form button[type=submit]")
    page.wait_for_selector("#results-heading")
    results_top = page.locator("#results-heading").bounding_box()["y"]
    form_top = page.locator("form.search-form").bounding_box()["y"]
    if page.size_name == "phone":
        assert results_top < form_top, "on a phone the results come before the form"
    else:
        assert form_top < results_top
    checker.check("search-results")
    page.click(f"a.plate[href^='/captures/{world['capture'].pk}/']")
    page.wait_for_url(f"**/captures/{world['capture'].pk}/**")
    checker.check("capture")
    checker.check("review-start", f"{base}/review/")
    checker.check("account", f"{base}/accounts/me/")
    checker.check("refused-403", f"{base}/audit/", status=403)
    checker.check(
        "not-found-404", f"{base}/captures/00000000-0000-0000-0000-000000000000/", status=404
    )
    checker.assert_clean()


def test_auditor_pages(portal_server, sized_page, sign_in, axe_source, artifact_folder, world):
    page = sized_page
    checker = Checker(page, axe_source, artifact_folder)
    base = sign_in(page, world["agency"], world["people"]["auditor"])
    checker.check("auditor-home", f"{base}/")
    assert page.get_by_test_id("task-flags").is_visible()
    checker.check_navigation(base)
    checker.check("access-log", f"{base}/audit/")
    checker.check("event", f"{base}/audit/events/{world['event'].pk}/")
    checker.check("audit-user", f"{base}/audit/users/{world['people']['officer'].username}/")
    checker.check("flags", f"{base}/audit/flags/")
    checker.check("charts", f"{base}/audit/charts/")
    checker.check("reports", f"{base}/audit/reports/")
    checker.check("changes", f"{base}/audit/changes/")
    checker.assert_clean()


def test_administrator_pages(
    portal_server, sized_page, sign_in, axe_source, artifact_folder, world
):
    page = sized_page
    checker = Checker(page, axe_source, artifact_folder)
    agency = world["agency"]
    base = sign_in(page, agency, world["people"]["admin"])
    checker.check("admin-home", f"{base}/")
    assert page.get_by_test_id("task-training").is_visible()
    checker.check_navigation(base)
    checker.check("training-due", f"{base}/accounts/training-due/")
    checker.check("admin-index", f"{base}/admin/")
    checker.check("admin-users", f"{base}/admin/auth/user/")
    checker.check("admin-user-locked", f"{base}/admin/auth/user/{world['locked'].pk}/change/")
    panel = page.get_by_test_id("account-panel")
    assert "Locked" in panel.get_by_test_id("account-locked").inner_text()
    panel.get_by_role("button", name="Unlock the account").click()
    page.wait_for_selector("text=Unlocked")
    assert "Open (not locked)" in page.get_by_test_id("account-locked").inner_text()
    checker.check("agency-settings", f"{base}/admin/tenants/agencysettings/{agency.pk}/change/")
    assert page.get_by_test_id("policy-preview").is_visible()
    page.fill(
        "textarea[name=policy_text]", "## Draft rules\n\nReads are kept [retention_days] days."
    )
    with page.context.expect_page() as preview_info:
        page.get_by_test_id("policy-preview-button").click()
    preview = preview_info.value
    preview.wait_for_load_state("load")
    assert preview.get_by_test_id("policy-preview-note").is_visible()
    assert "Reads are kept" in preview.locator("[data-testid=policy]").inner_text()
    preview.close()
    checker.assert_clean()


def test_navigation_collapses_on_a_phone_and_the_skip_link_leads_to_the_content(
    portal_server, sized_page, sign_in, world
):
    page = sized_page
    base = sign_in(page, world["agency"], world["people"]["admin"])
    page.goto(f"{base}/")
    nav = page.locator("#mainnav")
    toggle = page.locator(".nav-toggle")
    if page.size_name == "phone":
        assert not nav.is_visible()
        toggle.click()
        assert nav.is_visible()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert nav.get_by_role("link", name="Access log").is_visible()
    else:
        assert nav.is_visible()
        assert not toggle.is_visible()
    page.reload()
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.bounding_box()["y"] >= 0  # shown once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
