"""The access log in the admin: readable, never editable or deletable, counts capped."""

from __future__ import annotations

from audit.models import AccessEvent, Action
from audit.services import record_event
from tenants.admin_tools import CappedPaginator
from tenants.people.roles import Role
from tests.factories import make_user
from tests.support import verified_client


def test_admin_shows_the_log_read_only(agency_a, in_agency):
    boss = make_user(agency_a, username="admin-viewer", roles=[Role.ADMINISTRATOR])
    with in_agency(agency_a):
        event = record_event(action=Action.LOGIN, actor=boss)
    client = verified_client(agency_a, boss)
    listing = client.get("/admin/audit/accessevent/")
    assert listing.status_code == 200
    assert "admin-viewer" in listing.content.decode()
    page = client.get(f"/admin/audit/accessevent/{event.id}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert (
        client.post(f"/admin/audit/accessevent/{event.id}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get("/admin/audit/accessevent/add/").status_code == 403
    with in_agency(agency_a):
        assert AccessEvent.objects.filter(id=event.id).exists()


def test_capped_paginator_never_counts_past_its_cap(agency_a, in_agency):
    with in_agency(agency_a):
        for _ in range(5):
            record_event(action=Action.LOGIN, username="x")
        paginator = CappedPaginator(AccessEvent.objects.order_by("-id"), 2)
        paginator.CAP = 3
        assert paginator.count == 3


def test_admin_entry_page_shows_no_query_and_links_to_the_audit_page(agency_a, in_agency):
    boss = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    with in_agency(agency_a):
        event = record_event(
            action=Action.SEARCH, actor=boss, query={"plate": "PLT9071"},
            details={"result_count": 2}, purpose_text="Stolen PLT9071",
        )  # fmt: skip
    page = verified_client(agency_a, boss).get(f"/admin/audit/accessevent/{event.id}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert boss.username in body
    assert "PLT9071" not in body  # read on the audit pages, which are linked
    assert f'href="/audit/events/{event.id}/"' in body
