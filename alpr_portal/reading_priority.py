"""The reading worker gives way to the web server: it lowers its own CPU priority at start.

Reading plates is work that can wait; a search page cannot. On a node that runs both
(Procfile.production's ``reading`` line beside gunicorn), a backlog draining after an outage
would otherwise take the cores from the web processes. So when a Celery worker program that
consumes the reading queue (``ALPR_OCR_QUEUE``) has set up its queues
(``celeryd_after_setup``, before its pool starts a thread), it raises the nice value of every
thread it has to ``ALPR_READING_NICE`` (default 10; 0 leaves it alone); the threads it starts
later (the pool's, ONNX Runtime's) inherit it. Other workers (purge, audit) keep theirs.

On Linux the nice value only weighs against the processes of the same *autogroup* (one per
session, when ``/proc/sys/kernel/sched_autogroup_enabled`` is 1), and ``prodrun`` starts every
Procfile line in a session of its own: a worker that leads its session therefore sets its
autogroup's nice too (``/proc/self/autogroup``). Under systemd, where each service has a cgroup
of its own, the unit's ``CPUWeight=`` plays that part (docs/OPERATIONS.md).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger("alpr_portal.tasks")


def lower_priority(nice: int) -> int:
    """Raise every thread of this process to at least ``nice`` (never lower a nice value),
    and this session's autogroup too when this process leads the session. Returns the nice
    value of the calling thread afterwards."""
    for task in Path("/proc/self/task").iterdir():
        tid = int(task.name)
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:  # Linux: per thread
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except (ProcessLookupError, PermissionError):  # a thread that ended meanwhile
            continue
    if os.getsid(0) == os.getpid():
        _autogroup_nice(nice)
    return os.getpriority(os.PRIO_PROCESS, 0)


def _autogroup_nice(nice: int) -> None:
    group = Path("/proc/self/autogroup")
    try:
        current = int(group.read_text().split()[-1])
        if current < nice:
            group.write_text(str(nice))
    except (OSError, ValueError, IndexError):  # no autogroups in this kernel: nothing to do
        return


def consumes_reading_queue(worker: Any) -> bool:
    from django.conf import settings

    queues = worker.app.amqp.queues.consume_from or {}
    return (settings.ALPR_OCR_QUEUE or "celery") in queues


def on_worker_setup(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """``celeryd_after_setup``: sent by the worker program only (not by the test harness's
    in-process workers), once ``-Q`` is applied and before the pool starts."""
    from django.conf import settings

    nice = settings.ALPR_READING_NICE
    if instance is None or not nice or not consumes_reading_queue(instance):
        return
    now = lower_priority(nice)
    logger.info("reading worker %s runs at nice %s: the web processes come first", sender, now)
