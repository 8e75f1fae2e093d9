"""The public policy and transparency pages: no sign-in, no plates, figures from the database."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action, Outcome
from audit.services import record_event
from captures.models import Camera, Capture
from captures.retention.services import purge_expired
from tenants.people.roles import Role
from tenants.services import agency_settings_update
from tests.factories import make_camera, make_stored_capture, make_user, unique

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
PLATES = ["ZQX4821", "KJW7730", "PLT9001", "OLD4455"]
POLICY_TOPICS = [
    "Authorized purposes",
    "Who has access, and their training",
    "How use is monitored and audited",
    "Sale, sharing and release of data",
    "The custodian",
    "Accuracy and correcting errors",
    "Retention and purge",
]


THEFT = unique("retention-theft-")
MISSING = unique("retention-missing-")


def _label(category: str) -> str:
    return category.replace("-", " ").capitalize()


@pytest.fixture
def data_a(agency_a, clock, now):
    """Captures, cameras and searches of agency A, some inside and some outside the window."""
    camera = make_camera(agency_a)
    make_camera(agency_a)
    make_camera(agency_a, active=False)
    make_stored_capture(agency_a, camera, captured_at=now - DAY, plate=PLATES[0], reviewed=True)
    make_stored_capture(agency_a, camera, captured_at=now - DAY * 3, plate=PLATES[1])
    make_stored_capture(agency_a, camera, captured_at=now - DAY * 29, plate=PLATES[2])
    make_stored_capture(agency_a, camera, captured_at=now - DAY * 31, plate=PLATES[3])  # expired
    officer = make_user(agency_a, username=unique("officer_jones"), roles=[Role.OFFICER])
    with schema_context(agency_a.schema_name):
        searches = [
            (THEFT, Outcome.ALLOWED, 1),
            (THEFT, Outcome.ALLOWED, 2),
            (MISSING, Outcome.ALLOWED, 5),
            (MISSING, Outcome.REFUSED, 5),  # refused: not a search that ran
            (THEFT, Outcome.ALLOWED, 40),  # outside the 30-day window
        ]
        for category, outcome, days_ago in searches:
            record_at(
                now - DAY * days_ago,
                action=Action.SEARCH,
                actor=officer,
                outcome=outcome,
                purpose_category=category,
                purpose_text="Case follow-up",
                case_number="2026-0042",
                query={"plate": PLATES[0]},
            )
    return officer


def record_at(occurred_at, **kwargs):
    """An access-log entry at a past instant (the log itself refuses updates once chained)."""
    try:
        from audit.services import record_backdated_event
    except ImportError:  # the plain log, before the hash chain
        event = record_event(**kwargs)
        AccessEvent.objects.filter(pk=event.pk).update(occurred_at=occurred_at)
        return event
    return record_backdated_event(occurred_at=occurred_at, **kwargs)


def _db_figures(agency, now) -> dict:
    """The figures, computed here straight from the tables (other tests may have committed rows)."""
    since = now - DAY * 30
    with schema_context(agency.schema_name):
        return {
            "captures": Capture.objects.filter(
                captured_at__gte=since, captured_at__gt=now - DAY * agency.retention_days
            ).count(),
            "cameras": Camera.objects.filter(active=True).count(),
            "searches": AccessEvent.objects.filter(
                action="search", outcome="allowed", occurred_at__gte=since
            ).count(),
            "last_purge": AccessEvent.objects.filter(
                action="purge", outcome="allowed", details__complete=True
            )
            .order_by("-occurred_at")
            .first(),
            "last_verification": AccessEvent.objects.filter(
                action="audit_verified", outcome="allowed"
            )
            .order_by("-occurred_at")
            .first(),
        }


def test_policy_page_is_public_and_covers_every_topic(agency_a, data_a):
    response = Client(HTTP_HOST="alpha.localhost").get("/policy/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alpha County Sheriff" in html
    for topic in POLICY_TOPICS:
        assert topic in html
    assert "Records are kept for 30 days (never more than 30)" in html
    assert "Last changed" in html
    for plate in PLATES:
        assert plate not in html
    assert "officer_jones" not in html


def test_policy_page_shows_the_agencys_own_text_and_settings(agency_a, clock, now):
    with schema_context(agency_a.schema_name):
        agency_settings_update(
            agency=agency_a,
            changes={
                "retention_days": 12,
                "contact_name": "Records Sergeant Diaz",
                "policy_text": "## Our rules\nWe keep reads [retention_days] days.\n"
                "- no <script>alert(1)</script> here",
            },
        )
    html = Client(HTTP_HOST="alpha.localhost").get("/policy/").content.decode()
    assert "<h2>Our rules</h2>" in html
    assert "We keep reads 12 days." in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "Records Sergeant Diaz" in html
    assert f"Last changed {now:%B} {now.day}, {now.year}" in html


def test_transparency_figures_match_the_database(agency_a, data_a, now):
    before = _db_figures(agency_a, now)
    html = Client(HTTP_HOST="alpha.localhost").get("/transparency/").content.decode()

    db = _db_figures(agency_a, now)
    assert db == before  # reading the page wrote nothing
    assert db["captures"] >= 3
    assert db["cameras"] >= 2
    assert db["searches"] >= 3
    assert f'data-testid="captures">{db["captures"]}<' in html
    assert f'data-testid="active-cameras">{db["cameras"]}<' in html
    assert 'data-testid="retention-days">30<' in html
    assert f'data-testid="searches">{db["searches"]}<' in html
    assert f"<td>{_label(THEFT)}</td><td>2</td>" in html
    assert f"<td>{_label(MISSING)}</td><td>1</td>" in html
    assert "does not use hotlists" in html
    assert "Agencies the data is shared with: none." in html
    if db["last_purge"] is None:
        assert "No purge has run yet." in html
    if db["last_verification"] is None:
        assert "The access log has not been verified yet." in html
    for secret in [*PLATES, data_a.username, "2026-0042", "Case follow-up"]:
        assert secret not in html

    # A capture more, a camera switched off: the page follows the tables.
    camera = make_camera(agency_a)
    make_stored_capture(agency_a, camera, captured_at=now - DAY * 2)
    with schema_context(agency_a.schema_name):
        Camera.objects.filter(pk=camera.pk).update(active=False)
    html = Client(HTTP_HOST="alpha.localhost").get("/transparency/").content.decode()
    assert f'data-testid="captures">{db["captures"] + 1}<' in html
    assert f'data-testid="active-cameras">{db["cameras"]}<' in html


def test_transparency_shows_the_last_purge_and_audit_verification(agency_a):
    purge_expired(agency=agency_a)
    with schema_context(agency_a.schema_name):
        record_event(action=Action.AUDIT_VERIFIED, details={"entries": 10})
    html = Client(HTTP_HOST="alpha.localhost").get("/transparency/").content.decode()
    db = _db_figures(agency_a, timezone.now())
    for key, testid in (("last_purge", "last-purge"), ("last_verification", "last-verification")):
        local = db[key].occurred_at.astimezone(agency_a.tz)
        assert f'data-testid="{testid}">{local:%B} {local.day}, {local.year}, {local:%H:%M}' in html


def test_each_agency_shows_only_its_own_figures(agency_a, agency_b, data_a, now):
    html = Client(HTTP_HOST="bravo.localhost").get("/transparency/").content.decode()
    db = _db_figures(agency_b, now)
    assert f'data-testid="captures">{db["captures"]}<' in html
    assert f'data-testid="active-cameras">{db["cameras"]}<' in html
    assert f'data-testid="searches">{db["searches"]}<' in html
    assert "Bravo City Police" in html
    assert _label(THEFT) not in html


def test_public_pages_do_not_exist_on_the_platform_host(db):
    client = Client(HTTP_HOST="localhost")
    assert client.get("/policy/").status_code == 404
    assert client.get("/transparency/").status_code == 404


def test_public_pages_are_marked_public():
    from captures.transparency import views as public_views

    assert public_views.policy.alpr_public is True
    assert public_views.transparency.alpr_public is True
