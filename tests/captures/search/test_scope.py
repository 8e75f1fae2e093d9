"""Who may search, which captures exist for them: another agency's ids and expired reads are 404."""

from __future__ import annotations

import datetime
import json
import re
from unittest import mock

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.people.roles import Role
from tests.factories import make_capture, make_user, search_data
from tests.support import events, verified_client

pytestmark = pytest.mark.django_db


def test_agency_b_capture_ids_are_404_on_agency_a_pages(agency_a, agency_b, officer_client_a):
    theirs = make_capture(agency_b, plate="9BRV001")
    for path in (
        f"/captures/{theirs.pk}/",
        f"/captures/{theirs.pk}/print/",
        f"/review/{theirs.pk}/",
    ):
        assert officer_client_a.get(path).status_code == 404, path
    assert officer_client_a.post(f"/review/{theirs.pk}/", {"action": "confirm"}).status_code == 404
    with schema_context(agency_b.schema_name):
        theirs.refresh_from_db()
        assert theirs.review_status == "unconfirmed"


def test_agency_b_capture_ids_are_404_on_agency_a_image_view(agency_a, agency_b, officer_client_a):
    theirs = make_capture(agency_b, plate="9BRV002")
    mine = make_capture(agency_a, plate="9ALP002")
    from captures.templatetags.capture_tags import capture_image_url

    with schema_context(agency_a.schema_name):
        urls = [capture_image_url(theirs, "plate", 5)]
        mine_url = capture_image_url(mine, "plate", 5)
    assert all(urls), urls
    assert mine_url.endswith(f"/{mine.pk}/image/plate/?view=5")
    for url in urls:
        assert officer_client_a.get(url).status_code == 404


def test_agency_b_search_id_links_nothing(agency_a, agency_b, officer_a, officer_client_a):
    officer_b = make_user(agency_b, roles=[Role.OFFICER])
    client_b = verified_client(agency_b, officer_b)
    make_capture(agency_b, plate="9BRV003")
    client_b.post("/search/", search_data(agency_b, plate="9BRV003"), follow=True)
    (their_search,) = events(agency_b, actor_id=officer_b.pk, action="search")
    mine = make_capture(agency_a, plate="9ALP003")
    assert officer_client_a.get(f"/search/?search={their_search.pk}").status_code == 404
    officer_client_a.get(f"/captures/{mine.pk}/?search={their_search.pk}")
    (view,) = events(agency_a, actor_id=officer_a.pk, action="capture_viewed")
    assert view.related_event_id is None


def test_reads_past_retention_are_never_returned(agency_a, officer_a, officer_client_a):
    old = make_capture(
        agency_a,
        plate="3OLD999",
        captured_at=timezone.now() - datetime.timedelta(days=agency_a.retention_days, hours=1),
    )
    fresh = make_capture(agency_a, plate="3OLD999")
    start = (timezone.now() - datetime.timedelta(days=60)).astimezone(agency_a.tz)
    response = officer_client_a.post(
        "/search/",
        search_data(agency_a, plate="3OLD999", start=start.strftime("%Y-%m-%dT%H:%M")),
        follow=True,
    )
    page = response.content.decode()
    assert "1 read found" in page
    assert str(fresh.pk) in page
    assert str(old.pk) not in page
    assert officer_client_a.get(f"/captures/{old.pk}/").status_code == 404
    assert officer_client_a.get(f"/review/{old.pk}/").status_code == 404
    # the other reads of the same plate leave out the expired one too
    assert str(old.pk) not in officer_client_a.get(f"/captures/{fresh.pk}/").content.decode()
    with schema_context(agency_a.schema_name):  # it is still stored: only the query hides it
        from captures.models import Capture

        assert Capture.objects.filter(pk=old.pk).exists()


def test_auditor_cannot_search_and_untrained_officer_is_told_why(agency_a):
    auditor = make_user(agency_a, roles=[Role.AUDITOR])
    client = verified_client(agency_a, auditor)
    assert client.get("/search/").status_code == 403
    assert client.post("/search/", search_data(agency_a), follow=True).status_code == 403
    assert client.get("/review/").status_code == 403
    untrained = make_user(agency_a, roles=[Role.OFFICER], trained=False)
    response = verified_client(agency_a, untrained).post(
        "/search/", search_data(agency_a), follow=True
    )
    assert response.status_code == 403
    assert events(agency_a, action="search", actor_id=untrained.pk) == []


def test_administrator_may_search(agency_a):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    response = verified_client(agency_a, admin).post("/search/", search_data(agency_a), follow=True)
    assert response.status_code == 200
    assert events(agency_a, action="search", actor_id=admin.pk)[0].outcome == "allowed"


def test_results_page_shows_table_map_and_confirmation(agency_a, officer_a, officer_client_a):
    make_capture(agency_a, plate="6MAP001", review_status="confirmed", confidence=0.42)
    make_capture(agency_a, plate="6MAP001", captured_at=timezone.now() - datetime.timedelta(days=2))
    page = officer_client_a.post(
        "/search/", search_data(agency_a, plate="6MAP*"), follow=True
    ).content.decode()
    assert "2 reads found" in page
    assert 'id="results-map"' in page
    assert 'id="map-points"' in page
    assert "Confirmed" in page
    assert "Unconfirmed" in page
    assert "42%" in page
    assert "vendor/leaflet/leaflet.js" in page
    points = json.loads(re.search(r'id="map-points"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert sorted(p["count"] for p in points) == [1, 1]  # two cameras, one read each
    assert "<script>" not in page  # CSP: no inline script
    empty = officer_client_a.post(
        "/search/", search_data(agency_a, plate="ZZZZ9Q"), follow=True
    ).content.decode()
    assert "0 reads found" in empty
    assert "No reads found for plate ZZZZ9Q" in empty


def test_pagination_and_sort_reuse_the_logged_search(agency_a, officer_a, officer_client_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    made = [
        make_capture(agency_a, plate="2PAGE22", captured_at=base - datetime.timedelta(minutes=i))
        for i in range(55)
    ]
    page1 = officer_client_a.post(
        "/search/", search_data(agency_a, plate="2PAGE22"), follow=True
    ).content.decode()
    assert "55 reads found" in page1
    assert "Page 1 of 2" in page1
    (search,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert re.search(rf'href="\?search={search.pk}&amp;sort=\w+&amp;page=2">Next<', page1)
    page2 = officer_client_a.get(f"/search/?search={search.pk}&page=2").content.decode()
    assert "Page 2 of 2" in page2
    assert re.search(rf'href="\?search={search.pk}&amp;sort=\w+&amp;page=1">Previous<', page2)
    assert str(made[-1].pk) in page2
    assert str(made[0].pk) not in page2
    oldest_first = officer_client_a.get(f"/search/?search={search.pk}&sort=time_asc").content
    assert oldest_first.decode().index(str(made[-1].pk)) < oldest_first.decode().index(
        str(made[-2].pk)
    )
    # paging through the same search is not a new search
    assert len(events(agency_a, actor_id=officer_a.pk, action="search")) == 1


def test_times_are_shown_and_read_in_the_agency_time_zone(agency_a, officer_a, officer_client_a):
    import zoneinfo

    when = datetime.datetime(2026, 1, 15, 20, 30, 5, tzinfo=datetime.UTC)
    capture = make_capture(agency_a, plate="1TZONE1", captured_at=timezone.now())
    with schema_context(agency_a.schema_name):
        from captures.models import Capture

        # Received and read when it was taken: the search runs "then" (its clock is mocked).
        Capture.objects.filter(pk=capture.pk).update(
            captured_at=when, received_at=when, read_at=when
        )
    local = when.astimezone(zoneinfo.ZoneInfo(agency_a.timezone))
    # The form's times are the agency's wall-clock times: a one-minute window around it.
    data = search_data(
        agency_a,
        plate="1TZONE1",
        start=(local - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        end=(local + datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    with mock.patch(
        "captures.retention.selectors.timezone.now", return_value=when + datetime.timedelta(days=1)
    ):
        page = officer_client_a.post("/search/", data, follow=True).content.decode()
    assert "1 read found" in page
    assert local.strftime("%Y-%m-%d %H:%M:%S") + " PST" in page  # 12:30:05 PST, not 20:30 UTC
    (event,) = events(agency_a, actor_id=officer_a.pk, action="search")
    assert event.query["from"] == (when - datetime.timedelta(seconds=65)).isoformat()


@pytest.mark.parametrize("bad", ["99999999999999999999999", "-1", "abc", "1e5", ""])
def test_bad_search_ids_are_404_or_ignored_never_500(agency_a, officer_client_a, bad):
    assert officer_client_a.get(f"/search/?search={bad}").status_code == 404
    capture = make_capture(agency_a, plate="5BADID5")
    assert officer_client_a.get(f"/captures/{capture.pk}/?search={bad}").status_code == 200
    assert officer_client_a.get("/captures/not-a-uuid/").status_code == 404
