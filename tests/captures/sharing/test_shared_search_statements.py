"""A search of many granting agencies costs a fixed number of statements, not a few per
agency, and still keeps every guarantee: each owner's terms and data read from its own
schema, one linked entry in each log, every chain intact.

The extra owners are schemas cloned from agency A's in SQL inside the test's transaction
(tables only, rows of the small tables copied, no log entries), so the test needs no
migrations of its own and leaves nothing behind.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.chain import verify_chain
from audit.models import AccessEvent, Action
from captures.models import AuthorizedPurpose, Capture, ProhibitedTerm
from captures.search.query import SearchQuery
from captures.sharing.services import search_run_shared
from tenants.models import Agency
from tenants.sharing.selectors import grants_in_force
from tenants.sharing.services import agency_today, grant_accept, grant_offer
from tests.benchmarks.common import reset_identities
from tests.factories import make_capture, make_user
from tests.support import last_event_id

pytestmark = pytest.mark.django_db

PLATE = "8STM123"
# What a shared search of n owners may send: a constant part (the searcher's own gate, search
# and entry, the locks, the ids, the owners' terms, reads and entries) and K_PER_OWNER more
# per owner. The owners' part is batched into single statements, so K_PER_OWNER is 0.
CONSTANT = 20
K_PER_OWNER = 0


def _clone(template: Agency, slug: str) -> Agency:
    """An agency whose schema is a copy of ``template``'s tables (no log entries)."""
    schema = slug.replace("-", "_")
    src = template.schema_name
    with connection.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [src])
        for (table,) in cur.fetchall():
            cur.execute(f'CREATE TABLE "{schema}"."{table}" (LIKE "{src}"."{table}" INCLUDING ALL)')
            if not table.startswith("audit_") and table != "captures_capture":
                cur.execute(f'INSERT INTO "{schema}"."{table}" SELECT * FROM "{src}"."{table}"')  # noqa: S608
        reset_identities(cur, schema)
    agency = Agency(schema_name=schema, slug=slug, name=f"Cloned {slug}")
    agency.auto_create_schema = False
    agency.save()
    return agency


def _grant(owner: Agency, recipient: Agency) -> None:
    offered = grant_offer(
        owner=owner,
        recipient=recipient,
        ends_on=agency_today(owner) + datetime.timedelta(days=30),
        username="chief",
    )
    grant_accept(agency=recipient, grant_id=offered.pk, username="chief-b")


@pytest.fixture
def owners(agency_a, agency_b) -> list[Agency]:
    """A and three clones of it, each granting B, each holding one read of PLATE."""
    made = [agency_a, *(_clone(agency_a, f"clone-{n}") for n in (1, 2, 3))]
    for owner in made:
        _grant(owner, agency_b)
        make_capture(owner, plate=PLATE)
    return made


def _search(agency_b, owners) -> tuple[int, object]:
    officer = make_user(agency_b, username=f"officer-{len(owners)}")
    request = RequestFactory().post("/search/", HTTP_HOST="bravo.localhost")
    request.user = officer
    chosen = {owner.pk for owner in owners}
    grants = [g for g in grants_in_force(recipient=agency_b) if g.owner_id in chosen]
    now = timezone.now()
    query = SearchQuery(plate=PLATE, start=now - datetime.timedelta(days=7), end=now)
    with schema_context(agency_b.schema_name):
        purpose = AuthorizedPurpose.objects.get(name="Stolen vehicle")
        with CaptureQueriesContext(connection) as statements:
            shared = search_run_shared(
                request=request,
                agency=agency_b,
                grants=grants,
                query=query,
                typed_query=query.as_log(),
                purpose=purpose,
                purpose_text="Grey Honda Civic reported stolen on Main St",
                case_number="2026-004512",
            )
    return len(statements.captured_queries), shared


def test_statements_do_not_grow_with_the_owners(agency_b, owners):
    one, _ = _search(agency_b, owners[:1])
    four, shared = _search(agency_b, owners)
    assert one <= CONSTANT + K_PER_OWNER * 1, one
    assert four <= CONSTANT + K_PER_OWNER * 4, four
    assert four - one <= K_PER_OWNER * 3, (one, four)
    assert [part.count for part in shared.shared] == [1, 1, 1, 1]


def test_each_owner_answers_from_its_own_schema_and_logs_linked_entries(agency_b, owners):
    # A term one clone forbids refuses that clone only; another clone's read is out of scope.
    # Each clone's data differs: two reads in one, none in another.
    refusing, other, twice = owners[2], owners[3], owners[1]
    with schema_context(refusing.schema_name):
        ProhibitedTerm.objects.create(term="civic", reason="Clone policy")
    with schema_context(other.schema_name):
        Capture.objects.filter(plate=PLATE).update(plate="OTHER99")  # its read no longer matches
    make_capture(twice, plate=PLATE, captured_at=timezone.now() - datetime.timedelta(hours=2))
    before = {owner.slug: last_event_id(owner) for owner in owners}
    _, shared = _search(agency_b, owners)
    by_slug = {part.owner.slug: part for part in shared.shared}
    assert by_slug[refusing.slug].refused
    assert by_slug[refusing.slug].reads == []
    assert "Clone policy" in " ".join(by_slug[refusing.slug].problems)
    assert by_slug[other.slug].count == 0
    assert by_slug[twice.slug].count == 2
    assert by_slug["alpha"].count == 1
    newest, older = by_slug[twice.slug].reads
    assert newest.captured_at > older.captured_at  # each owner's own order kept
    assert all(read.owner == by_slug["alpha"].owner for read in by_slug["alpha"].reads)
    assert by_slug["alpha"].reads[0].camera.name  # the owner's camera, read with the row

    hub = shared.run.event
    assert sorted(link["agency"] for link in hub.details["links"]) == sorted(
        owner.slug for owner in owners
    )
    for owner in owners:
        with schema_context(owner.schema_name):
            (entry,) = AccessEvent.objects.filter(
                action=Action.EXTERNAL_SEARCH, id__gt=before[owner.slug]
            )
            assert entry.details["links"] == [{"agency": "bravo", "event_id": hub.pk}]
            assert {"agency": owner.slug, "event_id": entry.pk} in hub.details["links"]
            assert entry.outcome == ("refused" if owner == refusing else "allowed")
            result = verify_chain()
            assert result.ok, (owner.slug, result.problem)
    with schema_context(agency_b.schema_name):
        assert verify_chain().ok
