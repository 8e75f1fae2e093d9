"""Pruning verifies without the chain lock and holds it only per batch of the verified prefix."""

from __future__ import annotations

import datetime
import secrets
import threading
import time

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from audit import chain
from audit.checkpoint import verify_log
from audit.models import AccessEvent, Action, ChainAnchor
from audit.retention import prune_access_log, prune_apply, prune_plan
from audit.services import record_backdated_event, record_event
from tenants.models import Agency, Domain
from tenants.services import agency_create

OLD = datetime.timedelta(days=800)


def _old_entries(count: int, *, now: datetime.datetime) -> list[AccessEvent]:
    return [
        record_backdated_event(
            occurred_at=now - OLD + datetime.timedelta(minutes=i),
            action=Action.LOGIN,
            username="old-officer",
        )
        for i in range(count)
    ]


@pytest.fixture
def fresh_agency(db) -> Agency:
    agency = agency_create(slug="foxtrot", name="Foxtrot Bay", domain="foxtrot.localhost").agency
    connection.set_schema_to_public()
    return agency


@pytest.fixture
def committed_agency(committed):
    """An agency with its own, empty log, committed (the other connection must see it);
    dropped afterwards."""
    slug = f"prunelock{secrets.token_hex(3)}"
    agency = agency_create(slug=slug, name="Prune Lock County", domain=f"{slug}.localhost").agency
    connection.set_schema_to_public()
    yield agency
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{agency.schema_name}" CASCADE')
    Domain.objects.filter(tenant_id=agency.id).delete()
    Agency.objects.filter(id=agency.id).delete()


def test_an_append_completes_while_the_prune_verifies(committed_agency, monkeypatch):
    """The other side is a second connection (a thread): with the chain lock held during the
    walk, as before, its append would wait for the whole verification."""
    schema = committed_agency.schema_name
    now = timezone.now()
    with schema_context(schema):
        old = _old_entries(4, now=now)
        record_event(action=Action.LOGIN, username="recent-officer")

    verifying = threading.Event()
    appended = threading.Event()
    real_verify = chain.verify_chain

    def verify_then_wait(**kwargs):
        result = real_verify(**kwargs)
        verifying.set()
        appended.wait(timeout=15)  # verification "still running" until the append is done
        return result

    monkeypatch.setattr(chain, "verify_chain", verify_then_wait)
    outcome: dict = {}

    def prune() -> None:
        try:
            with schema_context(schema):
                outcome["result"] = prune_access_log()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=prune)
    thread.start()
    try:
        assert verifying.wait(timeout=60), "the prune never reached its verification"
        started = time.monotonic()
        with schema_context(schema):
            during = record_event(action=Action.SEARCH, username="officer-during-prune")
        elapsed = time.monotonic() - started
    finally:
        appended.set()
        thread.join(timeout=60)
    assert elapsed < 3, f"the append waited {elapsed:.1f} s for the prune's verification"
    assert "error" not in outcome, outcome
    result = outcome["result"]
    assert result.removed == 4, result
    assert not result.refused, result
    with schema_context(schema):
        assert not AccessEvent.objects.filter(id__in=[e.id for e in old]).exists()
        pruned = AccessEvent.objects.get(action=Action.LOG_PRUNED)
        assert pruned.id > during.id  # the append landed first; the prune's entry follows it
        assert AccessEvent.objects.filter(id=during.id).exists()
        verified = verify_log()
    assert verified.ok, verified.problem


def test_the_prune_refuses_when_the_verified_prefix_changed_before_the_lock(
    fresh_agency, in_agency
):
    now = timezone.now()
    with in_agency(fresh_agency):
        old = _old_entries(3, now=now)
        record_event(action=Action.LOGIN, username="recent")
        plan = prune_plan()
        assert [b.last_id for b in plan.batches] == [old[-1].id]
        # Between the walk and the lock, someone with the triggers off rewrites an old entry.
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER USER")
            cursor.execute(
                "UPDATE audit_accessevent SET entry_hash = %s WHERE id = %s",
                ["e" * 64, old[1].id],
            )
            cursor.execute("ALTER TABLE audit_accessevent ENABLE TRIGGER USER")
        result = prune_apply(plan)
        assert result.removed == 0
        assert "changed after they were verified" in result.refused
        assert AccessEvent.objects.filter(id__in=[e.id for e in old]).count() == 3
        assert not ChainAnchor.objects.exists()


def test_a_large_prefix_is_removed_in_short_batches(fresh_agency, in_agency):
    now = timezone.now()
    with in_agency(fresh_agency):
        old = _old_entries(5, now=now)
        keep = record_event(action=Action.LOGIN, username="recent")
        result = prune_access_log(batch_rows=2)
        assert (result.removed, result.batches) == (5, 3), result
        anchors = list(ChainAnchor.objects.order_by("id").values_list("last_removed_id", flat=True))
        assert anchors == [old[1].id, old[3].id, old[4].id]
        entries = AccessEvent.objects.filter(action=Action.LOG_PRUNED).order_by("id")
        assert [e.details["batch"] for e in entries] == [1, 2, 3]
        assert sum(e.details["removed"] for e in entries) == 5
        assert AccessEvent.objects.filter(id=keep.id).exists()
        assert verify_log().ok


def test_two_prunes_of_one_log_do_not_run_at_once(fresh_agency, in_agency):
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        autocommit=True,
    )
    try:
        other.execute(
            "SELECT pg_advisory_lock(hashtext('alpr_audit_prune'), hashtext(%s))",
            [fresh_agency.schema_name],
        )
        with in_agency(fresh_agency):
            _old_entries(2, now=timezone.now())
            result = prune_access_log()
            assert result.removed == 0
            assert result.refused == "another prune of this log is running"
    finally:
        other.close()
