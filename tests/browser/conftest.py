"""A real server process and a real headless Chromium.

The server runs ``manage.py runserver`` against the test database, so pages see
what tests commit through the ``committed`` fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def portal_server(django_db_setup):
    """Base port of a running portal; hosts are <agency>.localhost:<port>."""
    port = free_port()
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test",
            "ALPR_TEST_SERVER_DB": db["NAME"],
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = open(ROOT / "var" / f"test-server-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
            "--nothreading",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                break
        except OSError as exc:
            # The server answers: host 127.0.0.1 is unknown (404), or nothing beats (503).
            if getattr(exc, "code", None) in (404, 503):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"test server exited; see {log.name}") from exc
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError(f"test server did not start; see {log.name}")
    yield port
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = _chromium_path()
    if executable is None:
        pytest.fail("Chromium is not installed: run 'make test' (it installs Debian's chromium).")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls that tests
    # make between page actions are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def sign_in(portal_server):
    """``sign_in(page, agency, user)``: through the real pages, password then the app's code."""
    from tests.factories import DEFAULT_PASSWORD
    from tests.support import code_for, enrolled_secret

    def do(page, agency, user, password: str = DEFAULT_PASSWORD) -> str:
        base = f"http://{agency.slug}.localhost:{portal_server}"
        secret = enrolled_secret(agency, user)
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/accounts/login/code/**")
        page.fill("input[name=code]", code_for(secret))
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert page.get_by_test_id("current-user").inner_text() == user.get_username()
        return base

    return do


# --- Both sizes, accessibility (axe-core) and screenshots ---------------------------------

AXE_JS = ROOT / "var" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (npm package ``axe-core``, installed by ``make axe`` into var/)."""
    path = Path(os.environ.get("ALPR_AXE_JS", AXE_JS))
    if not path.is_file():
        pytest.fail(f"axe-core is not installed at {path}: run 'make axe' (npm install axe-core).")
    return path.read_text(encoding="utf-8")
