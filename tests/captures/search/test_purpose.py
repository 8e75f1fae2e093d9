"""A search runs only with a stated, specific, permitted purpose; every refusal is logged."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from captures.models import ProhibitedTerm
from captures.search.selectors import is_vague
from tests.factories import make_capture, search_data
from tests.support import events

pytestmark = pytest.mark.django_db


def _refused(client, agency, user, data, expect: str):
    before = len(events(agency, actor_id=user.pk, action="search"))
    response = client.post("/search/", data, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This search was refused" in page
    assert expect in page
    assert "found" not in page  # no results table
    logged = events(agency, actor_id=user.pk, action="search")
    assert len(logged) == before + 1
    event = logged[-1]
    assert event.outcome == "refused"
    assert expect in event.reason
    return event


def test_search_without_purpose_is_refused_and_logged(agency_a, officer_a, officer_client_a):
    make_capture(agency_a, plate="7ABC123")
    event = _refused(
        officer_client_a,
        agency_a,
        officer_a,
        search_data(agency_a, purpose=""),
        "Choose the purpose of this search",
    )
    assert event.purpose_category == ""
    assert event.query["plate"] == "7ABC123"  # the query elements are kept even when refused


@pytest.mark.parametrize("vague", ["investigation", "Test", "n/a", "  N/A. ", "routine check"])
def test_vague_purpose_is_refused_and_logged(agency_a, officer_a, officer_client_a, vague):
    event = _refused(
        officer_client_a,
        agency_a,
        officer_a,
        search_data(agency_a, purpose_text=vague),
        "too vague",
    )
    assert event.purpose_text == vague.strip()
    assert event.purpose_category == "Stolen vehicle"


def test_other_purpose_needs_words(agency_a, officer_a, officer_client_a):
    from tests.factories import purpose_id

    _refused(
        officer_client_a,
        agency_a,
        officer_a,
        search_data(agency_a, purpose=purpose_id(agency_a, "Other (describe)"), purpose_text=""),
        "needs a description",
    )


def test_prohibited_term_is_refused_naming_the_term(agency_a, officer_a, officer_client_a):
    with schema_context(agency_a.schema_name):
        ProhibitedTerm.objects.create(
            term="immigration enforcement", reason="State sanctuary law SB 54"
        )
    event = _refused(
        officer_client_a,
        agency_a,
        officer_a,
        search_data(agency_a, purpose_text="Assist federal Immigration  Enforcement request"),
        "immigration enforcement",
    )
    assert "SB 54" in event.reason
    assert "prohibits" in event.reason


def test_missing_required_case_number_is_refused_and_logged(agency_a, officer_a, officer_client_a):
    assert agency_a.require_case_number
    event = _refused(
        officer_client_a,
        agency_a,
        officer_a,
        search_data(agency_a, case_number=""),
        "requires a case or incident number",
    )
    assert event.case_number == ""


def test_refused_form_keeps_what_was_typed(agency_a, officer_a, officer_client_a):
    from tests.factories import purpose_id

    page = officer_client_a.post(
        "/search/", search_data(agency_a, case_number="", state="NV", plate="7AB*"), follow=True
    ).content.decode()
    assert f'<option value="{purpose_id(agency_a)}" selected>Stolen vehicle</option>' in page
    assert '<option value="NV" selected>NV</option>' in page
    assert 'value="7AB*"' in page


def test_case_number_optional_when_agency_does_not_require_it(
    agency_a, officer_a, officer_client_a
):
    agency_a.require_case_number = False
    agency_a.save(update_fields=["require_case_number"])
    try:
        response = officer_client_a.post(
            "/search/", search_data(agency_a, case_number=""), follow=True
        )
        assert "This search was refused" not in response.content.decode()
        assert events(agency_a, actor_id=officer_a.pk, action="search")[-1].outcome == "allowed"
    finally:
        agency_a.require_case_number = True
        agency_a.save(update_fields=["require_case_number"])


def test_accepted_search_logs_every_query_element(agency_a, officer_a, officer_client_a):
    capture = make_capture(agency_a, plate="4XYZ987", state="NV")
    data = search_data(
        agency_a,
        plate="4xyz-987",
        state="NV",
        similar="on",
        cameras=[capture.camera_id],
    )
    response = officer_client_a.post("/search/", data, follow=True)
    page = response.content.decode()
    assert "1 read found" in page
    (event,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert event.outcome == "allowed"
    assert event.purpose_category == "Stolen vehicle"
    assert event.purpose_text == "Grey Honda Civic reported stolen on Main St"
    assert event.case_number == "2026-004512"
    assert set(event.query) == {
        "plate",
        "state",
        "from",
        "to",
        "cameras",
        "include_unconfirmed",
        "similar",
    }
    assert event.query["plate"] == "4XYZ987"
    assert event.query["state"] == "NV"
    assert event.query["cameras"] == [capture.camera_id]
    assert event.query["similar"] is True
    assert event.query["include_unconfirmed"] is True
    assert event.query["from"].endswith("+00:00")
    assert event.query["to"].endswith("+00:00")
    # The form's range ended five minutes ahead: searched (and logged) up to the moment it ran.
    assert event.details == {"result_count": 1, "as_of": event.query["to"], "end_capped": True}
    assert event.actor_username == officer_a.username


def test_vague_word_detection():
    assert is_vague("investigation")
    assert is_vague("N/A")
    assert is_vague("...")
    assert not is_vague("stolen red pickup, report 26-1182")
    assert not is_vague("investigation of burglary at 12 Elm St")


def test_oversized_input_is_a_form_error_not_a_500(agency_a, officer_a, officer_client_a):
    response = officer_client_a.post(
        "/search/",
        search_data(agency_a, case_number="9" * 500, purpose_text="x" * 5000, cameras=["abc"]),
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "This search was refused" not in page
    assert "Nothing was searched" in page
    assert "at most 100 characters" in page
    assert "Choose cameras from the list" in page
    assert events(agency_a, actor_id=officer_a.pk, action="search") == []
