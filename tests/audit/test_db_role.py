"""The application's database role (README, "Database roles") cannot rewrite the access log.

The SQL is taken from README.md itself, so the documentation and this test cannot drift.
The role is created NOLOGIN inside the test transaction and used with SET ROLE; the rollback
removes it with everything it was granted.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AccessEvent, Action, ChainAnchor
from audit.services import record_event
from tenants.services import agency_create

README = Path(__file__).resolve().parents[2] / "README.md"
TABLES = ("audit_accessevent", "audit_chainanchor")
STATEMENTS = {
    "UPDATE": "UPDATE {table} SET id = id WHERE id = %s",
    "DELETE": "DELETE FROM {table} WHERE id = %s",
    "TRUNCATE": "TRUNCATE {table} CASCADE",
}


def readme_sql(name: str, *, app_role: str) -> str:
    text = README.read_text()
    match = re.search(rf"<!-- sql:{name} -->\s*```sql\n(.*?)```\s*<!-- /sql:{name} -->", text, re.S)
    assert match, f"README.md has no sql:{name} block"
    owner = connection.settings_dict["USER"]
    return match.group(1).replace("alpr_owner", f'"{owner}"').replace("alpr_app", app_role)


@pytest.fixture
def app_role(db) -> str:
    name = f"alpr_app_test_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    return name


class AsRole:
    """``with AsRole(name):`` runs the statements inside as that role (SET LOCAL ROLE)."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __enter__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {self.role}")

    def __exit__(self, *exc) -> None:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def _targets() -> dict[str, int]:
    event = record_event(action=Action.LOGIN, username="db-role-test")
    anchor = ChainAnchor.objects.create(
        cutoff=event.occurred_at, last_removed_id=0, last_removed_hash="0" * 64, removed_count=0
    )
    return {"audit_accessevent": event.id, "audit_chainanchor": anchor.id}


def _refused(statement: str, target: int, match: str) -> None:
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [target] if "%s" in statement else None)


def test_the_readme_grants_leave_the_log_insert_and_select_only(agency_a, in_agency, app_role):
    with connection.cursor() as cursor:
        cursor.execute(readme_sql("db-role-grants", app_role=app_role))
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [app_role])
        assert cursor.fetchone() == (0,)
    with in_agency(agency_a):
        targets = _targets()
        with AsRole(app_role):
            # What the application does: append (sequence, lock, head) and read.
            event = record_event(action=Action.SEARCH, username="app-role", query={"plate": "X"})
            assert AccessEvent.objects.filter(id=event.id).exists()
            for table in TABLES:
                for verb, statement in STATEMENTS.items():
                    (
                        _refused(
                            statement.format(table=table), targets[table], "permission denied"
                        ),
                        verb,
                    )
                _refused(f"ALTER TABLE {table} DISABLE TRIGGER USER", 0, "must be owner")
        assert AccessEvent.objects.filter(id=targets["audit_accessevent"]).exists()


def test_the_triggers_refuse_the_role_even_when_it_is_granted_everything(db, app_role, in_agency):
    """A new agency's tables get the default privileges; even with UPDATE, DELETE and
    TRUNCATE granted on top, the triggers refuse, and switching them off needs ownership."""
    with connection.cursor() as cursor:
        cursor.execute(readme_sql("db-role-defaults", app_role=app_role))
    agency = agency_create(slug="golf", name="Golf Harbor", domain="golf.localhost").agency
    with in_agency(agency):
        targets = _targets()
        with connection.cursor() as cursor:
            # audit_flag too: TRUNCATE ... CASCADE reaches it before the triggers run.
            cursor.execute(f"GRANT ALL ON {', '.join(TABLES)}, audit_flag TO {app_role}")
        with AsRole(app_role):
            record_event(action=Action.LOGIN, username="app-role")  # default privileges work
            for table in TABLES:
                for statement in STATEMENTS.values():
                    _refused(statement.format(table=table), targets[table], "append-only")
                _refused(f"ALTER TABLE {table} DISABLE TRIGGER USER", 0, "must be owner")
            assert AccessEvent.objects.filter(id=targets["audit_accessevent"]).exists()
            assert ChainAnchor.objects.filter(id=targets["audit_chainanchor"]).exists()
