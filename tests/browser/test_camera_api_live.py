"""The camera API on a running server: simulate_cameras over HTTP, and the API docs page
rendering in Chromium under the portal's Content-Security-Policy."""

from __future__ import annotations

import io
import os
import re

import pytest
from django.core.management import call_command
from django.db import connections
from django_tenants.utils import schema_context

from captures.models import Capture
from captures.storage import image_files
from tenants.models import Agency

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _sync_orm_beside_playwright(monkeypatch):
    # Playwright's sync API keeps an event loop running in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    # Under that loop the ORM may have opened a connection pytest-django does not know about;
    # close it so the test database can be dropped at the end of the session.
    connections.close_all()


def test_simulate_cameras_over_http(committed, portal_server):
    agency = Agency.objects.get(slug="bravo")
    with schema_context(agency.schema_name):
        before = set(Capture.objects.values_list("pk", flat=True))
    out = io.StringIO()
    call_command(
        "simulate_cameras",
        "--agency", "bravo", "--count", "3", "--cameras", "1", "--rate", "20",
        "--server", f"http://127.0.0.1:{portal_server}",
        "--seed", str(int.from_bytes(os.urandom(3))),
        stdout=out,
    )  # fmt: skip
    assert re.search(r"sent 3 captures .* 201: 3", out.getvalue()), out.getvalue()
    with schema_context(agency.schema_name):
        new = Capture.objects.exclude(pk__in=before)
        assert new.count() == 3
        # Clean up: the server queued these for reading; with the rows gone, any worker that
        # takes those messages later answers "gone" at once instead of loading the reader.
        for capture in new:
            image_files.delete_image(capture.plate_image)
            if capture.vehicle_image:
                image_files.delete_image(capture.vehicle_image)
        new.delete()


def test_api_docs_render_under_the_csp(portal_server, page):
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(f"http://alpha.localhost:{portal_server}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "ALPR Portal camera API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector("text=/api/v1/captures/")
    assert violations == []
