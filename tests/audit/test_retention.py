"""Access-log retention: old entries leave by pruning only, and the chain still verifies."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from audit.chain import verify_chain
from audit.models import AccessEvent, Action, ChainAnchor, Flag, FlagKind, LogPolicy
from audit.retention import log_retention_days, prune_access_log
from audit.services import record_backdated_event, record_event
from tenants.services import agency_create
from tests.factories import make_user
from tests.support import details_of


@pytest.fixture
def fresh_agency(db):
    """An agency whose log starts empty (created inside the test transaction, rolled back)."""
    agency = agency_create(slug="charlie", name="Charlie Town", domain="charlie.localhost").agency
    connection.set_schema_to_public()
    return agency


def test_retention_defaults_to_two_years_and_never_below_one(agency_a, in_agency):
    with in_agency(agency_a):
        assert log_retention_days() == 730
        with override_settings(ALPR_ACCESS_LOG_RETENTION_DAYS=30):
            assert log_retention_days() == 365
        LogPolicy.objects.create(retention_days=400)
        assert log_retention_days() == 400
        with pytest.raises(DatabaseError), transaction.atomic():
            LogPolicy.objects.create(retention_days=100)


def test_prune_removes_only_entries_past_retention_and_keeps_the_chain(fresh_agency, in_agency):
    now = timezone.now()
    with in_agency(fresh_agency):
        old = [
            record_backdated_event(
                occurred_at=now - datetime.timedelta(days=800 - i),
                action=Action.SEARCH,
                username="old-officer",
                query={"plate": f"OLD{i}"},
            )
            for i in range(3)
        ]
        Flag.objects.create(
            event=old[0], kind=FlagKind.REFUSED, reason="x", event_at=old[0].occurred_at
        )
        recent = record_event(action=Action.LOGIN, username="new-officer")
        result = prune_access_log()
        assert result.removed == 3, result
        assert not AccessEvent.objects.filter(id__in=[e.id for e in old]).exists()
        assert AccessEvent.objects.filter(id=recent.id).exists()
        anchor = ChainAnchor.objects.get()
        assert anchor.last_removed_id == old[-1].id
        assert anchor.last_removed_hash == old[-1].entry_hash
        pruned = AccessEvent.objects.get(action=Action.LOG_PRUNED)
        assert pruned.details["removed"] == 3
        assert verify_chain().ok
        # Appending afterwards continues the same chain.
        later = record_event(action=Action.LOGOUT, username="new-officer")
        assert later.prev_hash == pruned.entry_hash
        assert verify_chain().ok
        assert prune_access_log().removed == 0


def test_the_guard_refuses_deleting_young_entries_even_when_pruning(fresh_agency, in_agency):
    with in_agency(fresh_agency):
        event = record_event(action=Action.LOGIN, username="x")

        def delete_as_a_prune_up_to_tomorrow() -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('alpr.audit_prune_before', %s, true)",
                    [(timezone.now() + datetime.timedelta(days=1)).isoformat()],
                )
                cursor.execute("DELETE FROM audit_accessevent WHERE id = %s", [event.id])

        with pytest.raises(DatabaseError, match="append-only"):
            delete_as_a_prune_up_to_tomorrow()
        assert AccessEvent.objects.filter(id=event.id).exists()


def test_removing_old_head_entries_without_an_anchor_is_detected(fresh_agency, in_agency):
    now = timezone.now()
    with in_agency(fresh_agency):
        old = record_backdated_event(
            occurred_at=now - datetime.timedelta(days=800), action=Action.LOGIN, username="a"
        )
        record_event(action=Action.LOGIN, username="b")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('alpr.audit_prune_before', %s, true)",
                [(now - datetime.timedelta(days=700)).isoformat()],
            )
            cursor.execute("DELETE FROM audit_accessevent WHERE id = %s", [old.id])
        result = verify_chain()
        assert not result.ok


def test_prune_refuses_a_broken_chain(fresh_agency, in_agency):
    now = timezone.now()
    with in_agency(fresh_agency):
        old = record_backdated_event(
            occurred_at=now - datetime.timedelta(days=800), action=Action.LOGIN, username="a"
        )
        record_event(action=Action.LOGIN, username="b")
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER USER")
            cursor.execute(
                "UPDATE audit_accessevent SET actor_username = 'z' WHERE id = %s", [old.id]
            )
        result = prune_access_log()
        assert result.removed == 0
        assert "broken" in result.refused
        assert AccessEvent.objects.filter(id=old.id).exists()


def test_changing_the_retention_is_logged_and_never_below_a_year(agency_a, in_agency):
    from django.core.exceptions import ValidationError

    from audit.retention import log_policy_set

    admin = make_user(agency_a)
    with in_agency(agency_a):
        with pytest.raises(ValidationError):
            log_policy_set(retention_days=200, actor=admin)
        log_policy_set(retention_days=900, actor=admin)
        log_policy_set(retention_days=800, actor=admin)
        assert LogPolicy.objects.count() == 1
        assert log_retention_days() == 800
        entry = AccessEvent.objects.filter(action=Action.SETTINGS_CHANGED).order_by("-id").first()
        assert entry.actor_id == admin.id
        assert details_of(entry) == {"access_log_retention_days": [900, 800]}
