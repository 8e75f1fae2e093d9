"""B's officer finds A's read only while A's grant is in force; both logs hold linked entries."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from captures.models import AuthorizedPurpose
from tenants.models import Agency
from tenants.people.roles import Role
from tenants.sharing.services import agency_today, grant_accept, grant_offer, grant_revoke
from tests.factories import make_camera, make_capture, make_user

pytestmark = pytest.mark.browser


def _search(page, base, purpose_pk, plate, owner_pk=None):
    page.goto(f"{base}/search/")
    page.select_option("select[name=purpose]", str(purpose_pk))
    page.fill("input[name=case_number]", "2026-SH-15")
    page.fill("textarea[name=purpose_text]", "Stolen silver Camry that crossed the county line")
    page.fill("input[name=plate]", plate)
    if owner_pk is not None:
        page.check(f"input[name=agencies][value='{owner_pk}']")
    page.click("button:has-text('Search')")
    page.wait_for_selector("[data-testid=result-count]")


def test_b_officer_finds_a_read_only_while_the_grant_is_in_force(
    portal_server, page, sign_in, committed
):
    assert connection.settings_dict["NAME"].startswith("test"), "not on the test database"
    alpha, bravo = Agency.objects.get(slug="alpha"), Agency.objects.get(slug="bravo")
    tag = uuid.uuid4().hex[:6].upper()
    plate = f"5S{tag[:5]}"
    camera = make_camera(alpha, name=f"Shared {tag}")
    read = make_capture(alpha, camera=camera, plate=plate)
    officer = make_user(bravo, username=f"share-officer-{tag.lower()}", roles=[Role.OFFICER])
    with schema_context(bravo.schema_name):
        purpose = AuthorizedPurpose.objects.get(name="Stolen vehicle")

    base = sign_in(page, bravo, officer)
    # No grant: A is not offered, and A's read is not found.
    page.goto(f"{base}/search/")
    assert page.locator("[data-testid=shared-agencies]").count() == 0

    grant = grant_offer(
        owner=alpha,
        recipient=bravo,
        ends_on=agency_today(alpha) + datetime.timedelta(days=7),
        username=f"chief-{tag}",
    )
    try:
        grant_accept(agency=bravo, grant_id=grant.pk, username=f"chief-{tag}")
        _search(page, base, purpose.pk, plate, owner_pk=alpha.pk)
        row = page.locator("[data-testid=shared-read]")
        assert row.count() == 1
        assert "Alpha County Sheriff" in row.inner_text()
        page.click(f"a.plate[href^='/shared/alpha/captures/{read.pk}/']")
        assert page.get_by_test_id("capture-plate").inner_text() == plate
        assert "Alpha County Sheriff" in page.get_by_test_id("shared-owner").inner_text()
        search_id = int(page.url.rsplit("search=", 1)[1])

        with schema_context(bravo.schema_name):
            b_search = AccessEvent.objects.get(pk=search_id)
            b_view = AccessEvent.objects.filter(
                action=Action.CAPTURE_VIEWED, related_event_id=search_id
            ).get()
        a_search_id = b_search.details["links"][0]["event_id"]
        a_view_id = b_view.details["links"][0]["event_id"]
        with schema_context(alpha.schema_name):
            a_search = AccessEvent.objects.get(pk=a_search_id, action=Action.EXTERNAL_SEARCH)
            a_view = AccessEvent.objects.get(pk=a_view_id, action=Action.EXTERNAL_VIEW)
        assert a_search.details["links"] == [{"agency": "bravo", "event_id": search_id}]
        assert a_view.details["links"] == [{"agency": "bravo", "event_id": b_view.pk}]
        assert a_search.actor_username == f"bravo:{officer.username}"
        assert a_search.case_number == "2026-SH-15"
    finally:
        grant_revoke(agency=alpha, grant_id=grant.pk, username=f"chief-{tag}")

    # Revoked: the agency is no longer offered and its read no longer reachable.
    page.goto(f"{base}/search/")
    assert page.locator("[data-testid=shared-agencies]").count() == 0
    gone = page.goto(f"{base}/shared/alpha/captures/{read.pk}/?search={search_id}")
    assert gone is not None
    assert gone.status == 404
    page.goto(f"{base}/search/?search={search_id}")
    assert page.locator("[data-testid=shared-read]").count() == 0
    assert "no longer shares its data" in page.get_by_test_id("shared-results").inner_text()
