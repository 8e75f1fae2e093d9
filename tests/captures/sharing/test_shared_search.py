"""Searching shared data: B's officer includes A; both logs hold linked entries; A's rules
apply to A's data; capture pages and images of A seen by B; 404 for what is not granted."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action, Flag, FlagKind
from captures.models import Capture, ProhibitedTerm
from captures.reading.matching import match_key
from tenants.models import Agency
from tenants.sharing.models import Grant
from tenants.sharing.services import agency_today, grant_accept, grant_offer, grant_revoke
from tests.factories import ingest_capture, make_camera, make_capture, make_user, search_data
from tests.support import NewRows, verified_client

pytestmark = pytest.mark.django_db
NEW = NewRows()
events = NEW.events
grants = NEW.grants


@pytest.fixture(autouse=True)
def _only_this_tests_rows(agency_a, agency_b):
    NEW.mark(agency_a, agency_b)


PLATE = "8SHR123"


@pytest.fixture
def grant(agency_a, agency_b) -> Grant:
    offered = grant_offer(
        owner=agency_a,
        recipient=agency_b,
        ends_on=agency_today(agency_a) + datetime.timedelta(days=30),
        username="chief-a",
    )
    return grant_accept(agency=agency_b, grant_id=offered.pk, username="chief-b")


@pytest.fixture
def officer_b(agency_b):
    return make_user(agency_b, username="officer-b")


@pytest.fixture
def client_b_officer(agency_b, officer_b):
    return verified_client(agency_b, officer_b)


def _search(client, agency_b, agency_a=None, **overrides):
    data = search_data(agency_b, plate=PLATE, **overrides)
    if agency_a is not None:
        data["agencies"] = [agency_a.pk]
    return client.post("/search/", data, follow=True)


def test_b_finds_a_read_and_both_logs_hold_linked_entries(
    agency_a, agency_b, grant, client_b_officer
):
    read = make_capture(agency_a, plate=PLATE)
    make_capture(agency_a, plate="OTHER12")
    form = client_b_officer.get("/search/")
    assert "Alpha County Sheriff" in form.content.decode()

    response = _search(client_b_officer, agency_b, agency_a)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Reads of other agencies" in page
    assert f"/shared/alpha/captures/{read.pk}/?search=" in page
    assert response.context["shared"][0].count == 1

    (b_entry,) = events(agency_b, action=Action.SEARCH)
    (a_entry,) = events(agency_a, action=Action.EXTERNAL_SEARCH)
    assert b_entry.details["links"] == [{"agency": "alpha", "event_id": a_entry.pk}]
    assert a_entry.details["links"] == [{"agency": "bravo", "event_id": b_entry.pk}]
    assert b_entry.details["shared"][0]["outcome"] == "allowed"
    assert a_entry.actor_username == "bravo:officer-b"
    assert a_entry.details["searcher_agency"] == "bravo"
    assert a_entry.details["searcher_username"] == "officer-b"
    assert a_entry.purpose_category == "Stolen vehicle"
    assert a_entry.case_number == "2026-004512"
    assert a_entry.query["plate"] == PLATE
    assert a_entry.details["result_count"] == 1


def test_without_a_grant_no_agency_to_choose_and_nothing_in_a_log(
    agency_a, agency_b, client_b_officer
):
    make_capture(agency_a, plate=PLATE)
    assert "Also search agencies" not in client_b_officer.get("/search/").content.decode()
    response = _search(client_b_officer, agency_b, agency_a)
    assert "Reads of other agencies" not in response.content.decode()
    assert events(agency_a, action=Action.EXTERNAL_SEARCH) == []


def test_after_revocation_a_data_is_no_longer_found_even_shown_again(
    agency_a, agency_b, grant, client_b_officer
):
    make_capture(agency_a, plate=PLATE)
    _search(client_b_officer, agency_b, agency_a)
    (b_entry,) = events(agency_b, action=Action.SEARCH)
    grant_revoke(agency=agency_a, grant_id=grant.pk, username="chief-a")
    again = client_b_officer.get(f"/search/?search={b_entry.pk}")
    assert again.status_code == 200
    assert "no longer shares its data" in again.content.decode()
    assert again.context["shared"][0].reads == []
    posted = _search(client_b_officer, agency_b, agency_a)
    assert "Reads of other agencies" not in posted.content.decode()


def test_a_prohibited_term_of_a_is_refused_even_when_b_allows_it(
    agency_a, agency_b, grant, client_b_officer
):
    make_capture(agency_a, plate=PLATE)
    with schema_context(agency_a.schema_name):
        ProhibitedTerm.objects.create(term="protest", reason="First Amendment activity")
    response = _search(
        client_b_officer,
        agency_b,
        agency_a,
        purpose_text="Vehicle seen near the protest on Main St, stolen plates",
    )
    page = response.content.decode()
    assert "1 read" not in page.split("Reads of other agencies")[-1]
    assert "Alpha County Sheriff prohibits searches for “protest”" in page
    (b_entry,) = events(agency_b, action=Action.SEARCH)
    assert b_entry.outcome == "allowed"  # B's own data: B allows it
    (a_entry,) = events(agency_a, action=Action.EXTERNAL_SEARCH)
    assert a_entry.outcome == "refused"
    assert "protest" in a_entry.reason
    assert a_entry.details["result_count"] == 0
    assert b_entry.details["shared"][0]["outcome"] == "refused"


def test_a_law_forbidden_purpose_is_refused(agency_a, agency_b, grant, client_b_officer):
    Agency.objects.filter(pk=agency_a.pk).update(jurisdiction="IL", share_law_profile="illinois")
    make_capture(agency_a, plate=PLATE)
    _search(
        client_b_officer,
        agency_b,
        agency_a,
        purpose_text="Locate vehicle of person wanted for immigration enforcement",
    )
    (a_entry,) = events(agency_a, action=Action.EXTERNAL_SEARCH)
    assert a_entry.outcome == "refused"
    assert "forbids sharing its data for “immigration”" in a_entry.reason


def test_a_grant_the_law_no_longer_allows_stops_working_and_is_flagged(
    agency_a, agency_b, grant, client_b_officer
):
    make_capture(agency_a, plate=PLATE)
    Agency.objects.filter(pk=agency_a.pk).update(jurisdiction="CA", share_law_profile="california")
    Agency.objects.filter(pk=agency_b.pk).update(jurisdiction="OR")
    response = _search(client_b_officer, agency_b, agency_a)
    assert "no longer allows this grant" in response.content.decode()
    (a_entry,) = events(agency_a, action=Action.EXTERNAL_SEARCH)
    assert a_entry.outcome == "refused"
    with schema_context(agency_a.schema_name):
        flag = Flag.objects.get(event=a_entry)
    assert flag.kind == FlagKind.GRANT_NOT_ALLOWED
    assert Grant.objects.get(pk=grant.pk).flagged_at is not None


def test_b_refused_by_its_own_gate_reads_nothing_of_a(agency_a, agency_b, grant, client_b_officer):
    make_capture(agency_a, plate=PLATE)
    response = _search(client_b_officer, agency_b, agency_a, purpose_text="investigation")
    assert "This search was refused" in response.content.decode()
    assert events(agency_a, action=Action.EXTERNAL_SEARCH) == []


def test_grant_scope_cameras_and_days_back(agency_a, agency_b, client_b_officer):
    shared_cam, other_cam = make_camera(agency_a), make_camera(agency_a)
    offered = grant_offer(
        owner=agency_a,
        recipient=agency_b,
        ends_on=agency_today(agency_a) + datetime.timedelta(days=30),
        camera_ids=[shared_cam.pk],
        days_back=2,
        username="chief-a",
    )
    grant_accept(agency=agency_b, grant_id=offered.pk, username="chief-b")
    inside = make_capture(agency_a, camera=shared_cam, plate=PLATE)
    make_capture(agency_a, camera=other_cam, plate=PLATE)
    make_capture(
        agency_a,
        camera=shared_cam,
        plate=PLATE,
        captured_at=timezone.now() - datetime.timedelta(days=3),
    )
    response = _search(client_b_officer, agency_b, agency_a)
    (part,) = response.context["shared"]
    assert [read.pk for read in part.reads] == [inside.pk]


# --- A's read seen by B's officer ----------------------------------------------------


def _searched(client, agency_a, agency_b):
    _search(client, agency_b, agency_a)
    return events(agency_b, action=Action.SEARCH)[-1]


def test_capture_page_of_a_is_logged_in_both_logs(agency_a, agency_b, grant, client_b_officer):
    read = make_capture(agency_a, plate=PLATE)
    search = _searched(client_b_officer, agency_a, agency_b)
    response = client_b_officer.get(f"/shared/alpha/captures/{read.pk}/?search={search.pk}")
    assert response.status_code == 200
    assert "This read belongs to <strong>Alpha County Sheriff</strong>" in response.content.decode()
    (b_view,) = events(agency_b, action=Action.CAPTURE_VIEWED)
    (a_view,) = events(agency_a, action=Action.EXTERNAL_VIEW)
    assert b_view.details["links"] == [{"agency": "alpha", "event_id": a_view.pk}]
    assert a_view.details["links"] == [{"agency": "bravo", "event_id": b_view.pk}]
    assert b_view.related_event_id == search.pk
    (a_search,) = events(agency_a, action=Action.EXTERNAL_SEARCH)
    assert a_view.related_event_id == a_search.pk
    assert a_view.purpose_category == search.purpose_category
    assert b_view.details["owner_agency"] == "alpha"


def test_capture_of_a_needs_a_search_that_included_a(agency_a, agency_b, grant, client_b_officer):
    read = make_capture(agency_a, plate=PLATE)
    assert client_b_officer.get(f"/shared/alpha/captures/{read.pk}/").status_code == 404
    _search(client_b_officer, agency_b)  # without A
    own_only = events(agency_b, action=Action.SEARCH)[-1]
    url = f"/shared/alpha/captures/{read.pk}/?search={own_only.pk}"
    assert client_b_officer.get(url).status_code == 404
    assert events(agency_a, action=Action.EXTERNAL_VIEW) == []


def test_404_for_captures_of_an_agency_without_a_grant(agency_a, agency_b, client_b_officer):
    read = make_capture(agency_a, plate=PLATE)
    _search(client_b_officer, agency_b)
    search = events(agency_b, action=Action.SEARCH)[-1]
    for url in (
        f"/shared/alpha/captures/{read.pk}/?search={search.pk}",
        f"/shared/alpha/captures/{read.pk}/image/plate/?search={search.pk}",
        f"/captures/{read.pk}/?search={search.pk}",
    ):
        assert client_b_officer.get(url).status_code == 404, url
    assert events(agency_a, action=Action.EXTERNAL_VIEW) == []


def test_404_once_the_law_no_longer_allows_the_grant(agency_a, agency_b, grant, client_b_officer):
    read = make_capture(agency_a, plate=PLATE)
    search = _searched(client_b_officer, agency_a, agency_b)
    Agency.objects.filter(pk=agency_a.pk).update(jurisdiction="CA", share_law_profile="california")
    url = f"/shared/alpha/captures/{read.pk}/?search={search.pk}"
    assert client_b_officer.get(url).status_code == 404
    assert events(agency_a, action=Action.EXTERNAL_VIEW) == []


def test_404_once_revoked(agency_a, agency_b, grant, client_b_officer):
    read = make_capture(agency_a, plate=PLATE)
    search = _searched(client_b_officer, agency_a, agency_b)
    grant_revoke(agency=agency_a, grant_id=grant.pk, username="chief-a")
    url = f"/shared/alpha/captures/{read.pk}/?search={search.pk}"
    assert client_b_officer.get(url).status_code == 404


def test_image_of_a_comes_from_a_storage_and_is_logged_both_sides(
    agency_a, agency_b, grant, camera_a, client_b_officer
):
    capture = ingest_capture(agency_a, camera_a, text=PLATE, vehicle=True)
    with schema_context(agency_a.schema_name):
        Capture.objects.filter(pk=capture.pk).update(
            plate=PLATE, state="CA", match_key=match_key(PLATE), status="read"
        )
    search = _searched(client_b_officer, agency_a, agency_b)
    url = f"/shared/alpha/captures/{capture.pk}/image/plate/?search={search.pk}"
    response = client_b_officer.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"]
    (b_view,) = events(agency_b, action=Action.IMAGE_VIEWED)
    (a_view,) = events(agency_a, action=Action.EXTERNAL_VIEW)
    assert a_view.details["image"] == "plate"
    assert b_view.details["links"] == [{"agency": "alpha", "event_id": a_view.pk}]
    # B's own storage has no such file: the bytes came from A's, under A's keys.
    assert client_b_officer.get(f"/captures/{capture.pk}/image/plate/").status_code == 404


def test_both_chains_still_verify_after_linked_entries(agency_a, agency_b, grant, client_b_officer):
    """The searcher's entry is written last under an id reserved first: ids, times and the
    chain keep one order in both logs."""
    from audit.chain import verify_chain

    make_capture(agency_a, plate=PLATE)
    _search(client_b_officer, agency_b, agency_a)
    _search(client_b_officer, agency_b, agency_a)
    for agency in (agency_a, agency_b):
        with schema_context(agency.schema_name):
            result = verify_chain()
        assert result.ok, (agency.slug, result.problem)
    (first, second) = events(agency_b, action=Action.SEARCH)
    assert first.occurred_at < second.occurred_at
