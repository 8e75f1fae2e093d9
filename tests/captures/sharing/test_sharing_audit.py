"""What auditors see of sharing: A's external searches filtered by agency, exported, flagged
for volume; B's officers' searches of A; the transparency and policy pages of A."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.flags import AGENCY_VOLUME_MIN, flags_scan
from audit.models import Action, Flag, FlagKind
from audit.services import record_event
from tenants.people.roles import Role
from tenants.sharing.links import ExternalActor
from tenants.sharing.services import agency_today, grant_accept, grant_offer
from tests.factories import make_capture, make_user, search_data
from tests.support import NewRows, verified_client

pytestmark = pytest.mark.django_db
NEW = NewRows()
events = NEW.events
grants = NEW.grants


@pytest.fixture(autouse=True)
def _only_this_tests_rows(agency_a, agency_b):
    NEW.mark(agency_a, agency_b)


PLATE = "8AUD321"


@pytest.fixture
def grant(agency_a, agency_b):
    offered = grant_offer(
        owner=agency_a,
        recipient=agency_b,
        ends_on=agency_today(agency_a) + datetime.timedelta(days=30),
        username="chief-a",
    )
    return grant_accept(agency=agency_b, grant_id=offered.pk, username="chief-b")


def _shared_search(agency_a, agency_b, username="officer-b"):
    client = verified_client(agency_b, make_user(agency_b, username=username))
    data = search_data(agency_b, plate=PLATE)
    data["agencies"] = [agency_a.pk]
    assert client.post("/search/", data, follow=True).status_code == 200


def test_a_auditor_sees_external_searches_by_agency_and_exports_them(agency_a, agency_b, grant):
    make_capture(agency_a, plate=PLATE)
    _shared_search(agency_a, agency_b)
    auditor = verified_client(agency_a, make_user(agency_a, roles=[Role.AUDITOR]))
    page = auditor.get("/audit/", {"action": "external_search", "agency": "bravo"})
    assert page.status_code == 200
    assert "bravo:officer-b" in page.content.decode()
    assert (
        "bravo:officer-b"
        not in auditor.get(
            "/audit/", {"action": "external_search", "agency": "charlie"}
        ).content.decode()
    )
    refused = auditor.get("/audit/", {"agency": "Not A Slug!"})
    assert refused.status_code < 500
    assert "Give an agency&#x27;s slug" in refused.content.decode()

    export = auditor.get("/audit/export.csv", {"action": "external_search", "agency": "bravo"})
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    rows = [row for row in rows if int(row["id"]) > NEW.marks["alpha"]]
    assert [row["username"] for row in rows] == ["bravo:officer-b"]
    assert '"searcher_agency": "bravo"' in rows[0]["details"]


def test_b_auditor_sees_b_officers_searches_of_other_agencies(agency_a, agency_b, grant):
    _shared_search(agency_a, agency_b)
    auditor = verified_client(agency_b, make_user(agency_b, roles=[Role.AUDITOR]))
    content = auditor.get("/audit/", {"action": "search", "agency": "*"}).content.decode()
    assert "officer-b" in content
    by_slug = auditor.get("/audit/", {"action": "search", "agency": "alpha"}).content.decode()
    assert "officer-b" in by_slug


def test_unusual_volume_from_one_agency_is_flagged_once(agency_a):
    with schema_context(agency_a.schema_name):
        for _ in range(AGENCY_VOLUME_MIN + 3):
            record_event(
                action=Action.EXTERNAL_SEARCH,
                actor=ExternalActor(agency_slug="zulu", username="bulk"),
                purpose_category="Stolen vehicle",
                details={"searcher_agency": "zulu", "agencies": ["zulu"]},
            )
        flags_scan(agency=agency_a)
        flags = list(
            Flag.objects.filter(kind=FlagKind.AGENCY_VOLUME, event_id__gt=NEW.marks["alpha"])
        )
    assert len(flags) == 1
    assert "Agency zulu made more than 20 searches of our data" in flags[0].reason


def test_a_refused_external_search_is_flagged(agency_a, agency_b, grant):
    from captures.models import ProhibitedTerm

    with schema_context(agency_a.schema_name):
        ProhibitedTerm.objects.create(term="protest")
    client = verified_client(agency_b, make_user(agency_b))
    data = search_data(agency_b, plate=PLATE, purpose_text="Stolen car seen at the protest rally")
    data["agencies"] = [agency_a.pk]
    client.post("/search/", data, follow=True)
    with schema_context(agency_a.schema_name):
        flags_scan(agency=agency_a)
        assert Flag.objects.filter(
            kind=FlagKind.REFUSED, event__action="external_search", event_id__gt=NEW.marks["alpha"]
        ).exists()


def test_transparency_page_lists_partners_since_when_and_their_searches(
    agency_a, agency_b, grant, client_a
):
    from captures.transparency.selectors import transparency_figures

    with schema_context(agency_a.schema_name):
        before = transparency_figures(agency=agency_a).shared_with[0].searches_in_window
    _shared_search(agency_a, agency_b)
    _shared_search(agency_a, agency_b, username="officer-b2")
    page = client_a.get("/transparency/").content.decode()
    assert "Bravo City Police" in page
    # the page gives dates in the agency's time zone (its day can differ from UTC's)
    assert f"{timezone.localdate(grant.accepted_at, agency_a.tz):%Y-%m-%d}" in page
    assert f"<td>{before + 2}</td>" in page


def test_policy_page_shows_the_law_profile_and_partners(agency_a, agency_b, grant, client_a):
    from tenants.models import Agency

    Agency.objects.filter(pk=agency_a.pk).update(share_law_profile="washington")
    page = client_a.get("/policy/").content.decode()
    assert 'Law profile: <strong data-testid="policy-law-profile">Washington</strong>' in page
    assert "Bravo City Police (until" in page
