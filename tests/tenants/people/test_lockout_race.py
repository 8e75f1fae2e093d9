"""Sign-in attempts racing each other on real connections: the lockout counts every attempt
once, never lets more than the threshold of secrets be tried, and a lock always wins.

These tests commit their data (the other side is another connection) under unique usernames.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.models import Agency
from tenants.people import services
from tenants.people.models import LOCKOUT_THRESHOLD, LoginLock
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import (
    code_for,
    code_step,
    committed_agency,
    details_of,
    enrolled_secret,
    password_step,
)

ATTEMPTS = 10


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    connections.close_all()


def _in_thread(target, *args) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _events(agency: Agency, username: str) -> list[AccessEvent]:
    with schema_context(agency.schema_name):
        return list(AccessEvent.objects.filter(actor_username=username).order_by("id"))


def _waiting_backends() -> int:
    """Other connections of this database blocked on a lock (row or advisory)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_concurrent_wrong_passwords_lock_at_exactly_the_threshold(committed):
    agency = committed_agency()
    user = make_user(agency)
    start = threading.Barrier(ATTEMPTS)
    statuses: list[tuple[int, bytes]] = []

    def attempt(i: int) -> None:
        client = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR=f"10.9.0.{i + 1}")
        start.wait(10)
        response = password_step(client, user.username, f"wrong-password-{i}")
        statuses.append((response.status_code, response.content))

    threads = [_in_thread(attempt, i) for i in range(ATTEMPTS)]
    for thread in threads:
        thread.join(60)
    assert len(statuses) == ATTEMPTS
    assert all(status == 200 for status, _ in statuses)

    with schema_context(agency.schema_name):
        lock = LoginLock.objects.get(username=user.username)
    assert lock.locked_at is not None
    assert lock.failures == LOCKOUT_THRESHOLD  # not one password more was checked
    events = _events(agency, user.username)
    checked = [e for e in events if e.action == "login_failed" and e.outcome == "failed"]
    refused = [e for e in events if e.action == "login_failed" and e.outcome == "refused"]
    assert len(checked) == LOCKOUT_THRESHOLD
    assert sorted(e.details["consecutive_failures"] for e in checked) == list(
        range(1, LOCKOUT_THRESHOLD + 1)
    )
    assert len(refused) == ATTEMPTS - LOCKOUT_THRESHOLD
    assert {e.reason for e in refused} == {"account locked"}
    assert [e.action for e in events].count("lockout") == 1
    locked_pages = [body for _, body in statuses if b"This account is locked" in body]
    # The attempt that locked it and every later one say so.
    assert len(locked_pages) == ATTEMPTS - LOCKOUT_THRESHOLD + 1


def test_right_code_after_a_concurrent_lock_is_refused_and_logged(committed):
    """A failing attempt elsewhere locks the account while this sign-in sends the right code.

    The other attempt holds the lock row (its transaction is still open) when the code
    arrives: the code step must wait for it and then see the lock, not sign in.
    """
    agency = committed_agency()
    user = make_user(agency)
    secret = enrolled_secret(agency, user)
    client = Client(HTTP_HOST="alpha.localhost")
    assert password_step(client, user.username, DEFAULT_PASSWORD).status_code == 302
    for _ in range(LOCKOUT_THRESHOLD - 1):
        password_step(Client(HTTP_HOST="alpha.localhost"), user.username, "wrong-password-x")

    holding, release = threading.Event(), threading.Event()

    def failing_attempt() -> None:
        with schema_context(agency.schema_name), transaction.atomic():
            assert services.login_failure_register(
                username=user.username, reason="wrong password", request=None
            )
            holding.set()
            release.wait(20)

    locker = _in_thread(failing_attempt)
    assert holding.wait(20)
    answers: list = []
    code_thread = _in_thread(lambda: answers.append(code_step(client, code_for(secret))))
    deadline = time.monotonic() + 20
    while not _waiting_backends() and code_thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    release.set()
    locker.join(20)
    code_thread.join(20)

    response = answers[0]
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    assert b"This account is locked" in client.get("/accounts/login/").content
    events = _events(agency, user.username)
    assert "login" not in [e.action for e in events]
    last = events[-1]
    assert (last.action, last.outcome, last.reason) == ("login_failed", "refused", "account locked")
    assert details_of(last) == {"step": "code"}
    with schema_context(agency.schema_name):
        assert LoginLock.objects.get(username=user.username).failures == LOCKOUT_THRESHOLD
