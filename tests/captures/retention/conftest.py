"""Retention fixtures: plain synchronous ORM calls for the tests that commit."""

from __future__ import annotations

import pytest


@pytest.fixture
def plain_sync_orm(monkeypatch):
    """After the browser tests, Playwright's loop may still run in this thread (see the
    captures worker tests); these ORM calls are synchronous all the same."""
    from django.db import connections

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    connections.close_all()
