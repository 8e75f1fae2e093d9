"""The access log is append-only in the database and hash-chained per schema."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, entry_hash, verify_chain
from audit.models import AccessEvent, Action, ChainAnchor
from audit.services import record_backdated_event, record_event
from tests.factories import make_user


def _three_events(user):
    return [
        record_event(action=Action.LOGIN, actor=user),
        record_event(
            action=Action.SEARCH,
            actor=user,
            purpose_category="investigation",
            purpose_text="Stolen vehicle report 24-1188",
            case_number="24-1188",
            query={"plate": "ABC123", "state": "CA", "cameras": [1, 2]},
            details={"result_count": 3},
        ),
        record_event(action=Action.LOGOUT, actor=user),
    ]


def _disabled_guard():
    """As the superuser, switch the guard off inside the test transaction (rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER USER")


def test_entries_are_chained_in_order(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        first, second, third = _three_events(user)
        assert second.prev_hash == first.entry_hash
        assert third.prev_hash == second.entry_hash
        assert first.occurred_at <= second.occurred_at <= third.occurred_at
        stored = AccessEvent.objects.values().get(id=second.id)
        assert entry_hash(stored) == second.entry_hash
        assert len(second.entry_hash) == 64
        result = verify_chain()
    assert result.ok, result.problem
    assert result.head_id == third.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_accessevent SET reason = 'nothing to see' WHERE id = %s",
        "DELETE FROM audit_accessevent WHERE id = %s",
        "TRUNCATE audit_accessevent CASCADE",
        "UPDATE audit_chainanchor SET removed_count = 0 WHERE id = %s",
        "TRUNCATE audit_chainanchor",
    ],
)
def test_update_delete_truncate_fail_as_the_application_user(agency_a, in_agency, statement):
    user = make_user(agency_a)
    with in_agency(agency_a):
        event = record_event(action=Action.LOGIN, actor=user)
        anchor = ChainAnchor.objects.create(
            cutoff=timezone.now(), last_removed_id=0, last_removed_hash="0" * 64, removed_count=1
        )
        target = anchor.id if "chainanchor" in statement else event.id
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [target] if "%s" in statement else None)
        assert AccessEvent.objects.filter(id=event.id, reason="").exists()
        assert ChainAnchor.objects.filter(id=anchor.id, removed_count=1).exists()


def test_orm_update_and_delete_fail_too(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        event = record_event(action=Action.LOGIN, actor=user)
        with pytest.raises(DatabaseError), transaction.atomic():
            AccessEvent.objects.filter(id=event.id).update(actor_username="someone-else")
        with pytest.raises(DatabaseError), transaction.atomic():
            AccessEvent.objects.filter(id=event.id).delete()


def test_verify_command_passes_on_intact_chain(agency_a, in_agency, capsys):
    user = make_user(agency_a)
    with in_agency(agency_a):
        _three_events(user)
    connection.set_schema_to_public()
    call_command("verify_audit_log", "--agency", "alpha")
    assert "alpha (alpha): access log intact" in capsys.readouterr().out


def _expect_broken(agency, broken_id: int):
    connection.set_schema_to_public()
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit_log", "--agency", agency.slug)
    assert f"#{broken_id}" in str(excinfo.value)


def test_verify_fails_on_an_edited_entry(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        _, search, _ = _three_events(user)
        _disabled_guard()
        with connection.cursor() as cursor:
            cursor.execute(
                'UPDATE audit_accessevent SET query = \'{"plate": "XYZ999"}\' WHERE id = %s',
                [search.id],
            )
    _expect_broken(agency_a, search.id)


def test_verify_fails_on_a_deleted_entry(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        _, search, logout = _three_events(user)
        _disabled_guard()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_accessevent WHERE id = %s", [search.id])
    _expect_broken(agency_a, logout.id)


def test_verify_fails_on_swapped_entries(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        login, search, _ = _three_events(user)
        _disabled_guard()
        with connection.cursor() as cursor:
            # Swap the two rows' positions in the chain, hashes and all.
            cursor.execute(
                "UPDATE audit_accessevent SET id = -id WHERE id IN (%s, %s)", [login.id, search.id]
            )
            cursor.execute(
                "UPDATE audit_accessevent SET id = %s WHERE id = %s", [search.id, -login.id]
            )
            cursor.execute(
                "UPDATE audit_accessevent SET id = %s WHERE id = %s", [login.id, -search.id]
            )
    _expect_broken(agency_a, login.id)


def test_verify_also_fails_on_a_recomputed_hash_of_an_edited_entry(agency_a, in_agency):
    """Rewriting an entry and its own hash still breaks the link of the next entry."""
    user = make_user(agency_a)
    with in_agency(agency_a):
        _, search, logout = _three_events(user)
        values = AccessEvent.objects.values().get(id=search.id)
        values["case_number"] = "forged"
        forged = entry_hash(values)
        _disabled_guard()
        AccessEvent.objects.filter(id=search.id).update(case_number="forged", entry_hash=forged)
        result = verify_chain()
    assert not result.ok
    assert result.broken_id == logout.id


def test_each_agency_has_its_own_chain(agency_a, agency_b, in_agency):
    user_a = make_user(agency_a)
    user_b = make_user(agency_b)
    with in_agency(agency_a):
        a_event = record_event(action=Action.LOGIN, actor=user_a)
    with in_agency(agency_b):
        b_event = record_event(action=Action.LOGIN, actor=user_b)
        assert not AccessEvent.objects.filter(entry_hash=a_event.entry_hash).exists()
        assert verify_chain().ok
    assert b_event.prev_hash != a_event.entry_hash


def test_the_platform_has_its_own_log(db):
    connection.set_schema_to_public()
    event = record_event(action=Action.LOGIN, username="platform-staff")
    assert AccessEvent.objects.filter(id=event.id).exists()
    assert verify_chain().ok


def test_backdated_history_is_chained(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        when = timezone.now() - datetime.timedelta(days=3)
        event = record_backdated_event(occurred_at=when, action=Action.SEARCH, actor=user)
        assert event.occurred_at == when
        assert verify_chain().ok
    assert event.entry_hash != GENESIS_HASH
