"""Mistakes are not misconduct: a mistyped plate or date is a form error beside the field,
neither refused nor logged nor flagged; only the purpose rules refuse. A search is POST, then
a redirect to its results, so reloading or going back neither runs nor logs it again."""

from __future__ import annotations

import datetime
import re
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.flags import flags_scan
from audit.models import Flag
from captures.models import ProhibitedTerm
from captures.search.forms import LocalDateTimeField
from tenants.people.roles import Role
from tests.factories import make_capture, make_user, search_data
from tests.support import events, verified_client

pytestmark = pytest.mark.django_db


def _field_errors(page: str, field: str) -> str:
    """The text of the error list beside ``field`` (rendered right after its control)."""
    match = re.search(
        rf'id="id_{field}"[^>]*>(?:</select>|</textarea>)?(?:<span class="help">[^<]*</span>)?'
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>',
        page,
        re.S,
    )
    return match.group(1) if match else ""


@pytest.mark.parametrize(
    ("overrides", "field", "expect"),
    [
        ({"plate": "7*"}, "plate", "at least 2 known characters"),
        ({"plate": "?"}, "plate", "at least 2 known characters"),
        ({"start": ""}, "start", "Enter the date and time the search starts from."),
        ({"end": ""}, "end", "Enter the date and time the search runs to."),
        ({"start": "2026-13-45T99:00"}, "start", "Enter a date and time, such as"),
        ({"plate": "8?", "similar": "on"}, "plate", "at least 2 known characters"),
    ],
)
def test_mistakes_are_form_errors_beside_the_field_not_refusals(
    agency_a, officer_a, officer_client_a, overrides, field, expect
):
    response = officer_client_a.post("/search/", search_data(agency_a, **overrides))
    assert response.status_code == 200  # the form again, not a redirect to results
    page = response.content.decode()
    assert expect in _field_errors(page, field)
    assert "This search was refused" not in page
    assert "Nothing was searched: correct what is marked below." in page
    assert events(agency_a, actor_id=officer_a.pk, action="search") == []
    flags_scan(agency=agency_a)
    with schema_context(agency_a.schema_name):
        assert not Flag.objects.filter(actor_id=officer_a.pk).exists()


def test_nothing_to_search_for_is_a_form_error(agency_a, officer_a, officer_client_a):
    page = officer_client_a.post("/search/", search_data(agency_a, plate="")).content.decode()
    assert "Give a plate, a state or a camera to search for." in page
    assert "This search was refused" not in page
    assert events(agency_a, actor_id=officer_a.pk, action="search") == []


def test_a_mistake_and_a_purpose_refusal_together_are_refused_and_both_shown(
    agency_a, officer_a, officer_client_a
):
    page = officer_client_a.post(
        "/search/", search_data(agency_a, plate="7*", case_number="")
    ).content.decode()
    assert "This search was refused" in page
    assert "at least 2 known characters" in _field_errors(page, "plate")
    assert "requires a case or incident number" in _field_errors(page, "case_number")
    (event,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert event.outcome == "refused"
    # The reason is the purpose rule; the typo is not held against the officer.
    assert "known characters" not in event.reason
    assert event.query["plate"] == "7*"


def test_a_vague_case_number_says_what_is_wrong_not_that_it_is_missing(
    agency_a, officer_a, officer_client_a
):
    page = officer_client_a.post(
        "/search/", search_data(agency_a, case_number="investigation")
    ).content.decode()
    errors = _field_errors(page, "case_number")
    assert "“investigation” is not a case or incident number" in errors
    assert "enter it" not in errors
    (event,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert event.outcome == "refused"
    assert event.reason.startswith("“investigation” is not a case or incident number")


def test_refusal_messages_have_no_doubled_punctuation(agency_a, officer_a, officer_client_a):
    with schema_context(agency_a.schema_name):
        ProhibitedTerm.objects.create(term="ex partner", reason="Personal matters.")
    page = officer_client_a.post(
        "/search/", search_data(agency_a, purpose_text="locate ex partner's car", case_number="")
    ).content.decode()
    assert "(Personal matters). This search cannot be run." in page
    (event,) = events(agency_a, actor_id=officer_a.pk, action="search")
    for doubled in ("..", ".)", ":.", ". .", "::", ".:"):
        assert doubled not in event.reason


def test_search_redirects_to_its_results_and_reloading_logs_nothing(
    agency_a, officer_a, officer_client_a
):
    make_capture(agency_a, plate="4PRG444")
    response = officer_client_a.post("/search/", search_data(agency_a, plate="4PRG444"))
    assert response.status_code == 302
    (event,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert response["Location"] == f"/search/?search={event.pk}"
    for _ in range(3):  # reload, back, forward
        page = officer_client_a.get(response["Location"]).content.decode()
        assert "1 read found" in page
        assert "4PRG444" in page
    assert len(events(agency_a, actor_id=officer_a.pk, action="search")) == 1
    assert event.details["result_count"] == 1


def test_the_redirect_keeps_the_sort(agency_a, officer_a, officer_client_a):
    response = officer_client_a.post(
        "/search/?sort=time_asc", search_data(agency_a, plate="4SRT444")
    )
    (event,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert response["Location"] == f"/search/?search={event.pk}&sort=time_asc"


def test_results_replay_the_search_as_logged(agency_a, officer_a, officer_client_a):
    """A read arriving after the search does not appear when its results page is reloaded."""
    make_capture(agency_a, plate="4RPL444")
    location = officer_client_a.post("/search/", search_data(agency_a, plate="4RPL444"))["Location"]
    make_capture(agency_a, plate="4RPL444", captured_at=timezone.now())
    page = officer_client_a.get(location).content.decode()
    assert "1 read found" in page


def test_another_users_search_id_is_a_404(agency_a, officer_a, officer_client_a):
    colleague = make_user(agency_a, roles=[Role.OFFICER])
    theirs = verified_client(agency_a, colleague).post(
        "/search/", search_data(agency_a, plate="4OTH444")
    )
    assert theirs.status_code == 302
    assert officer_client_a.get(theirs["Location"]).status_code == 404
    refused = officer_client_a.post("/search/", search_data(agency_a, case_number=""))
    assert refused.status_code == 200
    (refusal,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert officer_client_a.get(f"/search/?search={refusal.pk}").status_code == 404


def test_a_search_over_a_past_range_is_not_capped(agency_a, officer_a, officer_client_a):
    now = timezone.now().astimezone(agency_a.tz)
    data = search_data(
        agency_a,
        plate="4PST444",
        start=(now - datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        end=(now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    officer_client_a.post("/search/", data)
    (event,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert event.details["end_capped"] is False


def test_an_hour_that_happens_twice_is_read_widest():
    """Clocks go back: the start takes the first 01:30, the end the second (no form error)."""
    with timezone.override(zoneinfo.ZoneInfo("America/Los_Angeles")):
        start = LocalDateTimeField(input_formats=["%Y-%m-%dT%H:%M"]).clean("2026-11-01T01:30")
        end = LocalDateTimeField(latest=True, input_formats=["%Y-%m-%dT%H:%M"]).clean(
            "2026-11-01T01:30"
        )
    assert start.astimezone(datetime.UTC).hour == 8
    assert end.astimezone(datetime.UTC).hour == 9


def test_times_in_the_hour_clocks_change_are_read_not_refused(agency_a):
    """Daylight saving in Los Angeles ends 2026-11-01 02:00 (01:xx happens twice) and starts
    2026-03-08 02:00 (02:xx never happens): both are searchable, the range read widest."""
    import zoneinfo

    from captures.search.forms import SearchForm

    zone = zoneinfo.ZoneInfo(agency_a.timezone)
    with timezone.override(zone), schema_context(agency_a.schema_name):
        data = search_data(agency_a, start="2026-11-01T01:30", end="2026-11-01T01:45")
        form = SearchForm(data, agency=agency_a)
        assert form.is_valid(), form.errors
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        # The start is the first 01:30 (PDT), the end the second 01:45 (PST).
        assert start.astimezone(datetime.UTC).strftime("%H:%M") == "08:30"
        assert end.astimezone(datetime.UTC).strftime("%H:%M") == "09:45"
        skipped = SearchForm(
            search_data(agency_a, start="2026-03-08T02:30", end="2026-03-08T04:00"),
            agency=agency_a,
        )
        assert skipped.is_valid(), skipped.errors
        assert skipped.cleaned_data["start"].astimezone(datetime.UTC).strftime("%H:%M") == "10:30"
