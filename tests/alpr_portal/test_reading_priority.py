"""The reading worker gives way to the web server (alpr_portal/reading_priority.py).

Procfile.production's ``reading`` and ``purge`` lines start as ``prodrun`` starts them (each in
a session of its own) on queues of this test; once they are ready, /proc shows every thread of
the reading worker at ``ALPR_READING_NICE`` (and its session's autogroup too, where the kernel
has autogroups), and the purge worker left at nice 0. With ``ALPR_READING_NICE=0`` the
reading worker is left alone.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from alpr_portal import health, prodrun
from alpr_portal.tasks import health_heartbeat

pytestmark = pytest.mark.worker


def _env(nice: str | None) -> dict[str, str]:
    env = dict(os.environ)
    tag = uuid.uuid4().hex[:8]
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test",
            "ALPR_TEST_SERVER_DB": settings.DATABASES["default"]["NAME"],
            "REDIS_URL": settings.REDIS_URL,
            "ALPR_OCR_QUEUE": f"reading-nice-{tag}",
            "ALPR_PURGE_QUEUE": f"purge-nice-{tag}",
        }
    )
    env.pop("ALPR_READING_NICE", None)
    if nice is not None:
        env["ALPR_READING_NICE"] = nice
    return env


def _wait_ready(processes: list[prodrun.Process], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in processes:
            assert p.alive(), f"{p.name} exited:\n{p.tail()}"
        if all(" ready." in p.tail(20000) for p in processes):
            return
        time.sleep(0.3)
    raise AssertionError("workers not ready:\n" + "\n".join(p.tail() for p in processes))


def _thread_nices(pid: int) -> list[int]:
    values = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        values.append(int(stat.read_text().rsplit(")", 1)[1].split()[16]))  # field 19: nice
    return values


def _autogroup_nice(pid: int) -> int | None:
    group = Path(f"/proc/{pid}/autogroup")
    return int(group.read_text().split()[-1]) if group.exists() else None


def _started(tmp_path: Path, nice: str | None) -> dict[str, prodrun.Process]:
    """The two workers, ready, the reading one having run a task in a thread of its pool
    (the threads pool starts its threads when work comes)."""
    env = _env(nice)
    processes = prodrun.start_stack(env, tmp_path, only={"reading", "purge"})
    try:
        _wait_ready(processes)
        queue = env["ALPR_OCR_QUEUE"]
        health_heartbeat.apply_async(args=(queue,), queue=queue)
        key = health.WORKER_KEY + queue
        deadline = time.monotonic() + 30
        while not health.redis_client().exists(key) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert health.redis_client().exists(key), processes[0].tail()
    except BaseException:
        prodrun.stop_stack(processes)
        raise
    return {p.name: p for p in processes}


def test_the_reading_worker_lowers_its_priority_and_the_others_keep_theirs(tmp_path):
    workers = _started(tmp_path, None)  # the default
    try:
        reading = _thread_nices(workers["reading"].proc.pid)
        purge = _thread_nices(workers["purge"].proc.pid)
        reading_group = _autogroup_nice(workers["reading"].proc.pid)
        purge_group = _autogroup_nice(workers["purge"].proc.pid)
    finally:
        prodrun.stop_stack(list(workers.values()))
    assert len(reading) > 1, reading  # the pool's thread that ran the task, too
    assert set(reading) == {10}, reading
    assert set(purge) == {0}, purge
    if reading_group is not None:
        assert (reading_group, purge_group) == (10, 0)
    assert "runs at nice 10: the web processes come first" in workers["reading"].tail(20000)


def test_alpr_reading_nice_0_leaves_the_reading_worker_alone(tmp_path):
    workers = _started(tmp_path, "0")
    try:
        reading = _thread_nices(workers["reading"].proc.pid)
        group = _autogroup_nice(workers["reading"].proc.pid)
    finally:
        prodrun.stop_stack(list(workers.values()))
    assert set(reading) == {0}, reading
    assert group in (None, 0)
