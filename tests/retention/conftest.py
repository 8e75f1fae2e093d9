"""Retention fixtures: a private image folder, a frozen clock, plain sync ORM for committers."""

from __future__ import annotations

import datetime

import pytest


@pytest.fixture(autouse=True)
def storage_dir(settings, tmp_path):
    """Every retention test stores its encrypted images in its own temporary folder."""
    path = tmp_path / "images"
    path.mkdir()
    settings.ALPR_STORAGE_DIR = path
    return path


@pytest.fixture
def now() -> datetime.datetime:
    """A fixed instant in the middle of a UTC day, away from day boundaries."""
    return datetime.datetime(2026, 11, 20, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock(now):
    """The clock moved to ``now`` (time-machine), not slept."""
    import time_machine

    with time_machine.travel(now, tick=False) as traveller:
        yield traveller


@pytest.fixture
def plain_sync_orm(monkeypatch):
    """After the browser tests, Playwright's loop may still run in this thread (see the
    captures worker tests); these ORM calls are synchronous all the same."""
    from django.db import connections

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    connections.close_all()
