"""Plate patterns: * and ? are the only wildcards; %, _ and backslash are literal."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from captures.search.query import PatternError, SearchQuery, like_pattern, parse_plate_pattern
from captures.search.selectors import capture_search
from tests.factories import make_camera, make_capture

pytestmark = pytest.mark.django_db

PLATES = [
    "7ABC123",
    "7ABD123",
    "7AB",
    "X7ABC1234",
    "8XY12Z",
    "AXY12B",
    "AXY129",
    "7AB%1",
    "7AB_1",
    "7AB\\1",
    "7AB11",
]


def test_pattern_parsing():
    assert parse_plate_pattern(" 7ab-c 123 ").text == "7ABC123"
    assert parse_plate_pattern("7ab**").text == "7AB*"
    assert parse_plate_pattern("") is None
    with pytest.raises(PatternError):
        parse_plate_pattern("*A*")  # one known character would scan everything
    assert like_pattern("7AB*") == "7AB%"
    assert like_pattern("?XY12?") == "_XY12_"
    assert like_pattern("7A%_\\*") == "7A\\%\\_\\\\%"


@pytest.fixture
def plates(agency_a):
    camera = make_camera(agency_a)
    for plate in PLATES:
        make_capture(agency_a, camera=camera, plate=plate)
    return camera


def _found(agency, plate: str, *, similar: bool = False) -> set[str]:
    now = timezone.now()
    query = SearchQuery(
        plate=parse_plate_pattern(plate).text,
        similar=similar,
        start=now - datetime.timedelta(days=7),
        end=now,
    )
    with schema_context(agency.schema_name):
        return set(
            capture_search(agency=agency, query=query, as_of=now).values_list("plate", flat=True)
        )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("7ABC123", {"7ABC123"}),
        ("7ab c123", {"7ABC123"}),
        ("7AB*", {"7ABC123", "7ABD123", "7AB", "7AB%1", "7AB_1", "7AB\\1", "7AB11"}),
        ("*ABC1*", {"7ABC123", "X7ABC1234"}),
        ("?XY12?", {"8XY12Z", "AXY12B", "AXY129"}),
        ("7AB?123", {"7ABC123", "7ABD123"}),
        ("7AB?1", {"7AB%1", "7AB_1", "7AB\\1", "7AB11"}),
    ],
)
def test_wildcards(agency_a, plates, pattern, expected):
    assert _found(agency_a, pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("7AB%", set()),  # not "starts with 7AB"
        ("7AB%1", {"7AB%1"}),  # not 7AB11, 7AB_1
        ("7AB_1", {"7AB_1"}),  # not "any one character"
        ("7AB\\1", {"7AB\\1"}),
        ("*B%*", {"7AB%1"}),
        ("*B_*", {"7AB_1"}),
        ("*B\\*", {"7AB\\1"}),
    ],
)
def test_sql_wildcards_are_literal(agency_a, plates, pattern, expected):
    assert _found(agency_a, pattern) == expected


def test_similar_plates_use_the_match_key(agency_a):
    camera = make_camera(agency_a)
    for plate in ["7A8C123", "7ABC123", "7ABCI23", "7XBC123"]:
        make_capture(agency_a, camera=camera, plate=plate)
    assert _found(agency_a, "7ABC123") == {"7ABC123"}
    assert _found(agency_a, "7ABC123", similar=True) == {"7A8C123", "7ABC123", "7ABCI23"}
    assert _found(agency_a, "7A8C*", similar=True) == {"7A8C123", "7ABC123", "7ABCI23"}
    assert _found(agency_a, "?ABC?23", similar=True) == {"7A8C123", "7ABC123", "7ABCI23"}


def test_similar_plates_take_in_a_four_read_as_l(agency_a):
    # California's open-top 4 read as L: a similar search for 4KBZ265 finds LKBZ265 (and
    # the folded 1KBZ265), in exact and wildcard patterns; a 1 is not a 4.
    camera = make_camera(agency_a)
    for plate in ["4KBZ265", "LKBZ265", "1KBZ265", "AKBZ265", "4KBZ264", "4KBZ26L"]:
        make_capture(agency_a, camera=camera, plate=plate)
    assert _found(agency_a, "4KBZ265") == {"4KBZ265"}
    assert _found(agency_a, "4KBZ265", similar=True) == {"4KBZ265", "LKBZ265", "1KBZ265"}
    assert _found(agency_a, "4KB*265", similar=True) == {"4KBZ265", "LKBZ265", "1KBZ265"}
    assert _found(agency_a, "?KBZ26?", similar=True) == {
        "4KBZ265",
        "LKBZ265",
        "1KBZ265",
        "AKBZ265",
        "4KBZ264",
        "4KBZ26L",
    }
    assert _found(agency_a, "4KBZ264", similar=True) == {"4KBZ264", "4KBZ26L"}
    # Its two 4s, alone and together.
    assert _found(agency_a, "*KBZ2*4", similar=True) == {"4KBZ264", "4KBZ26L"}
    # A search for an L is not widened to 4s (only the reader's direction).
    assert _found(agency_a, "LKBZ265", similar=True) == {"LKBZ265", "1KBZ265"}


def test_similar_plates_through_the_page(agency_a):
    from tenants.people.roles import Role
    from tests.factories import make_user, search_data
    from tests.support import events, verified_client

    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    make_capture(agency_a, plate="5ZQ0810")
    exact = client.post(
        "/search/", search_data(agency_a, plate="SZO0B1O"), follow=True
    ).content.decode()
    assert "0 reads found" in exact
    similar = client.post(
        "/search/", search_data(agency_a, plate="SZO0B1O", similar="on"), follow=True
    ).content.decode()
    assert "1 read found" in similar
    assert "5ZQ0810" in similar
    searches = events(agency_a, actor_id=officer.pk, action="search")
    assert [e.query["similar"] for e in searches] == [False, True]


def test_similar_needs_letters_or_digits(agency_a):
    from captures.search.forms import SearchForm
    from tests.factories import search_data

    with schema_context(agency_a.schema_name):
        form = SearchForm(search_data(agency_a, plate="7%*", similar="on"), agency=agency_a)
        assert not form.is_valid()
        assert "letters and digits" in str(form.errors["plate"])


def test_logged_queries_of_other_writers_are_read_leniently():
    query = SearchQuery.from_log(
        {"plate": "7AB*", "from": "2026-11-20", "to": "garbage", "cameras": ["3", "x", 4]}
    )
    assert query.start == datetime.datetime(2026, 11, 20, tzinfo=datetime.UTC)
    assert query.end is None
    assert query.camera_ids == (3, 4)
    assert query.include_unconfirmed is True
