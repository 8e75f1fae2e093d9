"""Entries of several logs written at once (``audit.chain.draw_heads`` + ``record_events``):
ids and heads drawn in one statement, entries in one statement, sealed by the same function as
``record_event``'s, so each chain verifies and continues with ordinary appends."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from audit import chain
from audit.models import AccessEvent, Action, Outcome
from audit.services import event_fields, record_event, record_events

pytestmark = pytest.mark.django_db


def _entry(username: str, **extra):
    return {"action": Action.EXPORT, "username": username, **extra}


def test_drawn_entries_chain_verify_and_ordinary_appends_follow(agency_a, agency_b):
    a, b = agency_a.schema_name, agency_b.schema_name
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::7", HTTP_USER_AGENT="test")
    with transaction.atomic():
        chain.lock_chains([a, b])
        with CaptureQueriesContext(connection) as statements:
            heads = chain.draw_heads({a: 2, b: 1})
            first, other, second = record_events(
                [
                    (a, _entry("one", request=request, query={"plate": "7ABC123"})),
                    (b, _entry("other", outcome=Outcome.REFUSED, reason="why")),
                    (a, _entry("two", details={"n": (1, 2)})),
                ],
                heads=heads,
            )
        assert len(statements.captured_queries) == 2  # the draw, the insert
    assert [first.pk, second.pk] == heads[a].ids
    assert other.pk == heads[b].ids[0]
    assert second.prev_hash == first.entry_hash
    for agency, events in ((agency_a, [first, second]), (agency_b, [other])):
        with schema_context(agency.schema_name):
            stored = list(AccessEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("id"))
            assert [e.entry_hash for e in stored] == [e.entry_hash for e in events]
            after = record_event(action=Action.EXPORT, username="after")
            assert after.prev_hash == events[-1].entry_hash
            result = chain.verify_chain()
            assert result.ok, result.problem
    assert first.client_ip == "2001:0db8:0000:0000:0000:0000:0000:0007"


def test_the_seal_is_the_one_record_event_uses(agency_a):
    """The same fields, id, time and link give the same hash either way."""
    with schema_context(agency_a.schema_name), transaction.atomic():
        event = record_event(action=Action.EXPORT, username="same", details={"k": "v"})
        again = chain.sealed(
            event_fields(action=Action.EXPORT, username="same", details={"k": "v"}),
            entry_id=event.pk,
            occurred_at=event.occurred_at,
            prev_hash=event.prev_hash,
        )
    assert again["entry_hash"] == event.entry_hash


def test_more_entries_than_drawn_ids_write_nothing(agency_a):
    a = agency_a.schema_name
    with schema_context(a):
        before = AccessEvent.objects.count()
    with transaction.atomic():
        chain.lock_chains([a])
        heads = chain.draw_heads({a: 1})
        with pytest.raises(RuntimeError, match="No id left"):
            record_events([(a, _entry("one")), (a, _entry("two"))], heads=heads)
    with schema_context(a):
        assert AccessEvent.objects.count() == before


def test_drawing_outside_a_transaction_is_refused(agency_a):
    atomic = connection.in_atomic_block
    connection.in_atomic_block = False  # step out of the test's own transaction to check
    try:
        with pytest.raises(RuntimeError, match="needs a transaction"):
            chain.draw_heads({agency_a.schema_name: 1})
    finally:
        connection.in_atomic_block = atomic
