"""The results page: an empty result says what was searched and offers next steps that fill the
form in; cameras are checkboxes."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.utils import timezone

from tenants.people.roles import Role
from tests.factories import make_camera, make_capture, make_user, search_data
from tests.support import events, verified_client

pytestmark = pytest.mark.django_db


def _value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page
    )
    return match.group(1) if match else ""


def _checked(page: str, name: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    return tag is not None and "checked" in tag.group(0)


def test_empty_result_says_what_was_searched_in_local_time(agency_a, officer_a, officer_client_a):
    now = timezone.now().astimezone(agency_a.tz)
    start, end = now - datetime.timedelta(days=3), now - datetime.timedelta(days=1)
    camera = make_camera(agency_a)
    data = search_data(
        agency_a,
        plate="9NONE99",
        state="NV",
        cameras=[camera.pk],
        start=start.strftime("%Y-%m-%dT%H:%M"),
        end=end.strftime("%Y-%m-%dT%H:%M"),
        include_unconfirmed=None,
    )
    page = officer_client_a.post("/search/", data, follow=True).content.decode()
    assert "0 reads found" in page
    said = re.search(r'data-testid="no-results">\s*<p>(.*?)</p>', page, re.S).group(1)
    assert "plate 9NONE99" in said
    assert "from NV" in said
    assert camera.name in said
    # The agency's wall-clock times (PST here), not "30 days" and not UTC.
    assert f"captured from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} PST" in said
    assert "confirmed reads only" in said
    assert "30 days" not in said
    for change in ("dates", "similar", "unconfirmed"):
        assert f'data-testid="next-{change}"' in page


@pytest.mark.parametrize(
    ("change", "field"), [("similar", "similar"), ("unconfirmed", "include_unconfirmed")]
)
def test_next_steps_fill_the_form_in_and_run_nothing(
    agency_a, officer_a, officer_client_a, change, field
):
    data = search_data(agency_a, plate="9FILL99", include_unconfirmed=None, case_number="26-7")
    officer_client_a.post("/search/", data)
    (search,) = events(agency_a, actor_id=officer_a.pk, action="search")
    page = officer_client_a.get(f"/search/?again={search.pk}&change={change}").content.decode()
    assert 'data-testid="search-changed"' in page
    assert _checked(page, field)
    assert _value(page, "plate") == "9FILL99"
    assert _value(page, "case_number") == "26-7"  # the purpose comes along
    assert 'data-testid="result-count"' not in page  # the form only: nothing was run
    assert len(events(agency_a, actor_id=officer_a.pk, action="search")) == 1


def test_widen_dates_fills_in_the_whole_retention_period(agency_a, officer_a, officer_client_a):
    now = timezone.now().astimezone(agency_a.tz)
    data = search_data(
        agency_a,
        plate="9WIDE99",
        start=(now - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        end=(now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    officer_client_a.post("/search/", data)
    (search,) = events(agency_a, actor_id=officer_a.pk, action="search")
    page = officer_client_a.get(f"/search/?again={search.pk}&change=dates").content.decode()
    start = datetime.datetime.strptime(_value(page, "start"), "%Y-%m-%dT%H:%M")
    oldest = (now - datetime.timedelta(days=agency_a.retention_days)).replace(tzinfo=None)
    assert abs((start - oldest).total_seconds()) <= 120
    end = datetime.datetime.strptime(_value(page, "end"), "%Y-%m-%dT%H:%M")
    assert abs((end - now.replace(tzinfo=None)).total_seconds()) <= 120
    # Submitting it is a new search that finds an older read.
    make_capture(agency_a, plate="9WIDE99", captured_at=timezone.now() - datetime.timedelta(days=3))
    widened = search_data(agency_a, plate="9WIDE99", start=_value(page, "start"))
    body = officer_client_a.post("/search/", widened, follow=True).content.decode()
    assert "1 read found" in body


def test_a_found_result_offers_no_next_steps(agency_a, officer_client_a):
    make_capture(agency_a, plate="9HAVE99")
    page = officer_client_a.post(
        "/search/", search_data(agency_a, plate="9HAVE99"), follow=True
    ).content.decode()
    assert "1 read found" in page
    assert 'data-testid="no-results"' not in page


def test_next_steps_of_someone_elses_search_are_404(agency_a, officer_client_a):
    colleague = make_user(agency_a, roles=[Role.OFFICER])
    verified_client(agency_a, colleague).post("/search/", search_data(agency_a, plate="9ELSE9"))
    (theirs,) = events(agency_a, actor_id=colleague.pk, action="search")
    assert officer_client_a.get(f"/search/?again={theirs.pk}&change=dates").status_code == 404
    assert officer_client_a.get("/search/?again=abc&change=dates").status_code == 404


def test_cameras_are_checkboxes_with_a_filter_when_many(agency_a, officer_client_a):
    cameras = [make_camera(agency_a) for _ in range(9)]
    page = officer_client_a.get("/search/").content.decode()
    assert '<select name="cameras"' not in page
    for camera in cameras:
        assert f'type="checkbox" name="cameras" value="{camera.pk}"' in page
    assert 'id="camera-filter"' in page
    assert "js/search-form.js" in page
    data = search_data(agency_a, plate="9CAM999", cameras=[cameras[0].pk, cameras[1].pk])
    shown = officer_client_a.post("/search/", data, follow=True).content.decode()
    assert f'value="{cameras[0].pk}" id="id_cameras_{cameras[0].pk}" checked' in shown
    assert f'value="{cameras[2].pk}" id="id_cameras_{cameras[2].pk}">' in shown


def test_the_map_gets_tiles_when_a_tile_server_is_configured(agency_a, officer_client_a, settings):
    make_capture(agency_a, plate="9TILE99")
    settings.ALPR_MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    settings.ALPR_MAP_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
    page = officer_client_a.post(
        "/search/", search_data(agency_a, plate="9TILE99"), follow=True
    ).content.decode()
    config = json.loads(re.search(r'id="map-config"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert config["tiles"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert config["attribution"] == "© OpenStreetMap contributors"
    assert config["basemap"].endswith("vendor/demo-basemap/demo-area.svg")
    assert config["basemap_bounds"] == [[45.49, -122.73], [45.605, -122.575]]
