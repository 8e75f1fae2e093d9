"""Every page of each role at desktop size and at a phone's 390 px: no horizontal scrolling,
no serious or critical accessibility problem (axe-core), a screenshot kept in
var/test-artifacts/<size>/ for people to look at; and the pieces that make the pages usable on
a phone and by keyboard (navigation that collapses, results before the form, the skip link,
purpose fields first).

The navigation pages, and the pages of one object each: a capture and its printout, a read in a
review session, an alert,
a disclosure and its preparation, a legal hold, an incident, a support grant, a report, an
access-log entry, a first sign-in's enrolment and backup codes, the support session and the
platform's administration. Each role signs in once; each page is loaded once and looked at at
both sizes (the viewport is resized: the stylesheet's media queries and the scripts' resize
handlers lay it out again, as on a device of that size)."""

from __future__ import annotations

import datetime
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.flags import flags_scan
from audit.incidents.services import Scope, incident_open
from audit.models import Flag
from audit.reports import report_create
from captures.hotlists.matching import match_read
from captures.hotlists.models import Hit, Hotlist, HotlistEntry
from captures.models import AuthorizedPurpose
from captures.reading.matching import match_key
from captures.releases.services import disclosure_prepare
from tenants.models import Agency
from tenants.people.models import LoginLock
from tenants.people.roles import Role
from tests.factories import (
    DEFAULT_PASSWORD,
    REVIEW_PURPOSE,
    disclosure_data,
    make_camera,
    make_capture,
    make_hold,
    make_platform_staff,
    make_support_grant,
    make_user,
    purpose_id,
    search_event,
)
from tests.support import ARTIFACTS, SIZES, code_for, enrolled_secret

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))
  }));
}"""
OVERFLOW_CULPRITS = """() => { const w = window.innerWidth; const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > w + 1 && getComputedStyle(el).position !== 'fixed')
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
    if (out.length > 4) break; }
  return out.join(', '); }"""
# The page laid out again after a resize: two animation frames (layout, then paint).
SETTLED = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def test_the_test_database_is_in_use(db):
    assert connection.settings_dict["NAME"].startswith("test")


class Checker:
    """Looks at each page once per size: overflow, axe, screenshot; collects what is wrong."""

    def __init__(self, page, axe_source: str):
        self.page = page
        self.axe_source = axe_source
        self.problems: list[str] = []
        self.seen: list[str] = []
        self.urls: set[str] = set()  # each distinct page is looked at once
        self.size = "desktop"
        self.took: dict[str, float] = defaultdict(float)
        page.set_viewport_size(SIZES[self.size])

    def check(
        self,
        name: str,
        url: str | None = None,
        *,
        status: int = 200,
        each: Callable[[object, str], None] | None = None,
    ) -> None:
        """``url`` (or the page as it is) at both sizes; ``each(page, size)`` asserts more."""
        page = self.page
        started = time.monotonic()
        if url is not None and url in self.urls and status == 200 and each is None:
            page.goto(url)  # looked at already (from the navigation): only go there
            return
        if url is not None:
            self.urls.add(url)
            response = page.goto(url)
            if response is None or response.status != status:
                got = response.status if response else None
                self.problems.append(
                    f"{name}: status {got}, expected {status} ({url}, at {page.url})"
                )
        page.wait_for_load_state("load")
        self.took["load"] += time.monotonic() - started
        assert name not in self.seen, f"{name} looked at twice"
        self.seen.append(name)
        # The size the page is at first, then the other one (no resize back and forth).
        for size in sorted(SIZES, key=lambda s: s != self.size):
            if size != self.size:
                page.set_viewport_size(SIZES[size])
                page.evaluate(SETTLED)
                self.size = size
            page.size_name = size
            self._look(f"{name} ({size})", name, size)
            if each is not None:
                each(page, size)

    def _look(self, label: str, name: str, size: str) -> None:
        page = self.page
        started = time.monotonic()
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if wide > 1:
            culprit = page.evaluate(OVERFLOW_CULPRITS)
            self.problems.append(f"{label}: {wide}px of horizontal scrolling ({culprit})")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.axe_source)
        for v in page.evaluate(AXE_RUN):
            if v["impact"] in SERIOUS:
                where = "; ".join(v["nodes"])
                self.problems.append(f"{label}: axe {v['impact']} {v['id']} ({v['help']}): {where}")
        self.took["axe"] += time.monotonic() - started
        started = time.monotonic()
        folder = ARTIFACTS / size
        folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        page.screenshot(path=str(folder / f"{safe}.jpg"), full_page=True, type="jpeg", quality=70)
        self.took["screenshot"] += time.monotonic() - started

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
        spent = ", ".join(f"{k} {v:.1f} s" for k, v in self.took.items())
        print(f"{len(self.seen)} pages at {len(SIZES)} sizes: {spent}")
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def checker(browser, axe_source):
    """A fresh browser context (one per walk); ``make()`` gives its Checker."""
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Checker(page, axe_source)
    context.close()


def _post_request(user):
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.19")
    request.user = user
    return request


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One agency's users of every role and one object of each kind their pages show, made
    once for the module's walks (committed, for the page server)."""
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        if not connection.settings_dict["NAME"].startswith("test"):
            pytest.fail("The test database is not set up.")
        yield from _world()
        connection.set_schema_to_public()


def _world():
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:8]
    people = {
        "officer": make_user(agency, username=f"pg-off-{tag}", roles=[Role.OFFICER]),
        "auditor": make_user(agency, username=f"pg-aud-{tag}", roles=[Role.AUDITOR]),
        "admin": make_user(agency, username=f"pg-adm-{tag}", roles=[Role.ADMINISTRATOR]),
    }
    locked = make_user(agency, username=f"pg-locked-{tag}")
    newcomer = make_user(agency, username=f"pg-new-{tag}")  # no authenticator yet
    staff = make_platform_staff(username=f"pg-staff-{tag}")
    plate = f"7P{tag[:5].upper()}"
    camera = make_camera(agency, name=f"Pages {tag}", latitude=34.05, longitude=-118.25)
    capture = make_capture(
        agency, camera=camera, plate=plate, confidence=0.62, review_status="confirmed"
    )
    make_capture(agency, camera=camera, plate=f"8Q{tag[:5].upper()}", confidence=0.41)  # to review
    now = timezone.now()
    with schema_context(agency.schema_name):
        LoginLock.objects.create(username=locked.username, failures=5, locked_at=now)
        event = search_event(people["officer"], plate=plate, case_number="")
        flags_scan(agency=agency)
        purpose = AuthorizedPurpose.objects.get(name="Stolen vehicle")
        hotlist = Hotlist.objects.create(name=f"Pages list {tag}", owner="DOJ", alerts=True)
        HotlistEntry.objects.create(
            hotlist=hotlist,
            plate=plate,
            match_key=match_key(plate),
            state="CA",
            reason="stolen_vehicle",
            reference=f"V{tag}",
            case_number=f"2026-PG-{tag}",
        )
        with transaction.atomic():
            (hit,) = match_read(
                capture=capture,
                plate=plate,
                state="CA",
                confidence=0.62,
                source=Hit.Source.SERVER,
            )
        disclosure = disclosure_prepare(
            request=_post_request(people["admin"]),
            agency=agency,
            data=disclosure_data(),
            capture_ids=[capture.pk],
        )
        incident = incident_open(
            request=_post_request(people["admin"]),
            title=f"Shared password {tag}",
            description="A password was seen on a sticky note at the front desk.",
            scope=Scope(
                window_start=now - datetime.timedelta(days=2),
                window_end=now,
                accounts=[people["officer"].username],
                addresses=[],
            ),
        )
        report = report_create(
            agency=agency, period_start=now - datetime.timedelta(days=7), period_end=now
        )
        flag = Flag.objects.filter(event=event).first()
    hold = make_hold(agency, [capture], case_number=f"2026-PG-{tag}")
    grant = make_support_grant(agency, staff=staff, admin=people["admin"])
    yield {
        "agency": agency,
        "people": people,
        "locked": locked,
        "newcomer": newcomer,
        "staff": staff,
        "plate": plate,
        "capture": capture,
        "event": event,
        "flag": flag,
        "purpose": purpose,
        "hit": hit,
        "disclosure": disclosure,
        "incident": incident,
        "report": report,
        "hold": hold,
        "grant": grant,
    }
    # Alerts would reach other tests' officers (their banner): removed again.
    with schema_context(agency.schema_name):
        Hit.objects.filter(hotlist=hotlist).delete()
        hotlist.entries.all().delete()
        hotlist.delete()


@pytest.fixture
def sign_in_as(portal_server, sign_in):
    def do(checker: Checker, world, role: str) -> str:
        return sign_in(checker.page, world["agency"], world["people"][role])

    return do


def test_public_pages(portal_server, checker, world):
    base = f"http://alpha.localhost:{portal_server}"
    checker.check("platform-landing", f"http://localhost:{portal_server}/")
    checker.check("sign-in", f"{base}/accounts/login/")
    checker.check("policy", f"{base}/policy/")
    checker.check("transparency", f"{base}/transparency/")
    checker.check("not-found-anonymous", f"{base}/no-such-page/", status=404)
    checker.assert_clean()


def _visible(test_id: str):
    def each(page, size):
        assert page.get_by_test_id(test_id).is_visible(), f"{test_id} at {size}"

    return each


def _results_before_the_form_on_a_phone(page, size) -> None:
    results_top = page.locator("#results-heading").bounding_box()["y"]
    form_top = page.locator("form.search-form").bounding_box()["y"]
    if size == "phone":
        assert results_top < form_top, "on a phone the results come before the form"
    else:
        assert form_top < results_top


def test_officer_pages(portal_server, checker, sign_in_as, world):
    page = checker.page
    base = sign_in_as(checker, world, "officer")
    capture = world["capture"]
    checker.check("officer-home", f"{base}/", each=_visible("task-review"))
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
    search_id = re.search(r"[?&]search=(\d+)", page.url).group(1)
    checker.check("search-results", each=_results_before_the_form_on_a_phone)
    page.click(f"a.plate[href^='/captures/{capture.pk}/']")
    page.wait_for_url(f"**/captures/{capture.pk}/**")
    checker.check("capture")
    checker.check("print-form", f"{base}/captures/{capture.pk}/print/?search={search_id}")
    page.fill("input[name=case_number]", "2026-PG-19")
    page.check("input[name=destination][value=agency]")
    page.click("form:has(input[name=case_number]) button[type=submit]")
    page.wait_for_load_state("load")
    assert "/accounts/login/" not in page.url
    checker.check("printout")
    checker.check("alert", f"{base}/alerts/{world['hit'].pk}/")
    checker.check("disclosure-prepare", f"{base}/releases/new/?search={search_id}")
    checker.check("review-start", f"{base}/review/")
    page.select_option("select[name=purpose]", str(purpose_id(world["agency"], REVIEW_PURPOSE)))
    with page.expect_navigation():
        page.click("#btn-start-review")
    assert page.locator("#btn-start-review").count() == 0, "the review session started"
    checker.check("review-item")  # the queue's next read, in the session
    checker.check("account", f"{base}/accounts/me/")
    checker.check("password-change", f"{base}/accounts/me/password/")
    checker.check("refused-403", f"{base}/audit/", status=403)
    checker.check(
        "not-found-404", f"{base}/captures/00000000-0000-0000-0000-000000000000/", status=404
    )
    checker.assert_clean()


def test_auditor_pages(portal_server, checker, sign_in_as, world):
    base = sign_in_as(checker, world, "auditor")
    checker.check("auditor-home", f"{base}/", each=_visible("task-flags"))
    checker.check_navigation(base)
    checker.check("access-log", f"{base}/audit/")
    checker.check("access-log-plate", f"{base}/audit/?plate={world['plate']}")
    checker.check("event", f"{base}/audit/events/{world['event'].pk}/")
    checker.check("audit-user", f"{base}/audit/users/{world['people']['officer'].username}/")
    checker.check("flags", f"{base}/audit/flags/")
    checker.check("charts", f"{base}/audit/charts/")
    checker.check("reports", f"{base}/audit/reports/")
    checker.check("report", f"{base}/audit/reports/{world['report'].pk}/")
    checker.check("changes", f"{base}/audit/changes/")
    checker.check("incident-as-auditor", f"{base}/audit/incidents/{world['incident'].pk}/")
    checker.check("disclosure-as-auditor", f"{base}/releases/{world['disclosure'].pk}/")
    checker.assert_clean()


def test_administrator_pages(portal_server, checker, sign_in_as, world):
    page = checker.page
    agency = world["agency"]
    base = sign_in_as(checker, world, "admin")
    checker.check("admin-home", f"{base}/", each=_visible("task-training"))
    checker.check_navigation(base)
    checker.check("training-due", f"{base}/accounts/training-due/")
    checker.check("hold-new", f"{base}/holds/new/")
    checker.check("hold", f"{base}/holds/{world['hold'].pk}/")
    incident = world["incident"].pk
    checker.check("incident-new", f"{base}/audit/incidents/new/")
    checker.check("incident", f"{base}/audit/incidents/{incident}/")
    checker.check("support-grant-new", f"{base}/support/new/")
    checker.check("support-grant", f"{base}/support/{world['grant'].pk}/")
    checker.check("disclosure", f"{base}/releases/{world['disclosure'].pk}/")
    checker.check("admin-alert", f"{base}/alerts/{world['hit'].pk}/")
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


def test_first_sign_in_pages(portal_server, checker, world):
    """A newcomer's enrolment (QR code and secret) and backup codes."""
    page = checker.page
    base = f"http://alpha.localhost:{portal_server}"
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", world["newcomer"].username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/login/enrol/**")
    checker.check("enrol", each=_visible("totp-qr"))
    secret = page.get_by_test_id("totp-secret").get_attribute("data-secret")
    page.fill("input[name=code]", code_for(secret))
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/backup-codes/**")
    checker.check("backup-codes", each=_visible("backup-codes"))
    checker.assert_clean()


def test_platform_staff_pages(portal_server, checker, world):
    """Platform staff: the platform's administration, and a support session on the agency's
    host under the grant."""
    page = checker.page
    staff = world["staff"]
    platform = Agency.objects.get(schema_name="public")
    secret = enrolled_secret(platform, staff)
    landing = f"http://localhost:{portal_server}"
    page.goto(f"{landing}/accounts/login/")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/login/code/**")
    page.fill("input[name=code]", code_for(secret))
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    checker.check("platform-admin", f"{landing}/admin/")
    checker.check("platform-support", f"{landing}/support/")
    base = f"http://alpha.localhost:{portal_server}"
    page.goto(f"{base}/accounts/login/")
    page.click("a:has-text('support sign-in')")
    checker.check("support-sign-in")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.fill("#id_code", code_for(secret, at=time.time() + 30))  # the next code: not reused
    page.click("button:has-text('Sign in for support')")
    page.wait_for_url(f"{base}/support/session/")
    checker.check("support-session")
    checker.check("support-out-of-scope", f"{base}/audit/", status=403)
    checker.assert_clean()


@pytest.mark.parametrize("size", list(SIZES))
def test_navigation_collapses_on_a_phone_and_the_skip_link_leads_to_the_content(
    portal_server, browser, sign_in, world, size
):
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        base = sign_in(page, world["agency"], world["people"]["admin"])
        nav = page.locator("#mainnav")
        toggle = page.locator(".nav-toggle")
        if size == "phone":
            assert not nav.is_visible()
            toggle.click()
            assert nav.is_visible()
            assert toggle.get_attribute("aria-expanded") == "true"
            assert nav.get_by_role("link", name="Access log").is_visible()
        else:
            assert nav.is_visible()
            assert not toggle.is_visible()
        page.goto(f"{base}/")
        page.keyboard.press("Tab")
        skip = page.locator(".skip-link")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        assert skip.bounding_box()["y"] >= 0  # shown once focused
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
    finally:
        context.close()
