"""What ``/healthz`` checks, and the heartbeats it reads.

* the database (``SELECT 1``) and Redis (``PING``);
* beat's last run and each queue's worker: beat runs ``alpr_portal.health_beat`` every
  15 s (``CELERY_BEAT_SCHEDULE``); it stamps ``alpr:health:beat`` in Redis and sends
  ``alpr_portal.health_heartbeat`` into every queue, and the worker that takes it stamps
  ``alpr:health:worker:<queue>``. A stamp older than ``ALPR_HEALTH_HEARTBEAT_SECONDS`` is stale:
  beat stopped, the queue has no worker, or its worker is that far behind;
* each queue's depth (messages waiting in Redis), failing above ``ALPR_HEALTH_MAX_QUEUE``;
* per agency, the last complete purge and the last access-log verification (both nightly),
  stale after ``ALPR_HEALTH_DAILY_HOURS``; a failed latest verification fails at once. An
  agency younger than that limit with none yet is fine.

No plate data, no user data: names of queues and agencies, times and counts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action, Outcome
from captures.transparency.selectors import last_successful_purge_at
from tenants.models import Agency
from tenants.schemas import PUBLIC_SCHEMA

BEAT_KEY = "alpr:health:beat"
WORKER_KEY = "alpr:health:worker:"
# kombu's Redis transport keeps priorities 3, 6 and 9 of a queue in lists of their own.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queues() -> list[str]:
    """Every queue the deployment's workers must serve (the default one included)."""
    names = {
        settings.ALPR_OCR_QUEUE,
        settings.ALPR_PURGE_QUEUE,
        settings.ALPR_AUDIT_QUEUE,
        settings.ALPR_AUDIT_PRUNE_QUEUE,
        settings.ALPR_PACKAGE_QUEUE,  # evidence packages (empty: the default queue)
        "celery",
    }
    return sorted(name for name in names if name)


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def record_beat(*, now: datetime.datetime | None = None) -> None:
    stamp = (now or timezone.now()).timestamp()
    redis_client().set(BEAT_KEY, stamp, ex=7 * 86400)


def record_heartbeat(queue: str, *, now: datetime.datetime | None = None) -> None:
    stamp = (now or timezone.now()).timestamp()
    redis_client().set(WORKER_KEY + queue, stamp, ex=7 * 86400)


def queue_depth(client: redis.Redis, queue: str) -> int:
    return sum(int(client.llen(queue + suffix)) for suffix in _PRIORITY_SUFFIXES)


@dataclass
class Report:
    now: datetime.datetime
    checks: dict[str, Any] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failing

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "stale",
            "checked_at": self.now.isoformat(),
            "failing": self.failing,
            **self.checks,
        }


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _stamp(client: redis.Redis, key: str, now: datetime.datetime) -> dict[str, Any]:
    raw = client.get(key)
    limit = settings.ALPR_HEALTH_HEARTBEAT_SECONDS
    if raw is None:
        return {"ok": False, "last": None, "age_seconds": None}
    at = datetime.datetime.fromtimestamp(float(raw), tz=datetime.UTC)
    age = (now - at).total_seconds()
    return {"ok": age <= limit, "last": at.isoformat(), "age_seconds": round(age, 1)}


def _check_database(report: Report) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - the check reports any failure
        report.checks["database"] = {"ok": False, "error": type(exc).__name__}
        report.failing.append("database")
        return False
    report.checks["database"] = {"ok": True}
    return True


def _check_redis(report: Report) -> None:
    client = redis_client()
    try:
        client.ping()
    except redis.RedisError as exc:
        report.checks["redis"] = {"ok": False, "error": type(exc).__name__}
        report.failing.append("redis")
        return
    report.checks["redis"] = {"ok": True}
    beat = _stamp(client, BEAT_KEY, report.now)
    report.checks["beat"] = beat
    if not beat["ok"]:
        report.failing.append("beat")
    workers, depths = {}, {}
    for queue in queues():
        workers[queue] = _stamp(client, WORKER_KEY + queue, report.now)
        depths[queue] = depth = queue_depth(client, queue)
        if not workers[queue]["ok"]:
            report.failing.append(f"worker:{queue}")
        if depth > settings.ALPR_HEALTH_MAX_QUEUE:
            report.failing.append(f"queue:{queue}")
    report.checks["workers"] = workers
    report.checks["queues"] = depths


def _last_verification() -> AccessEvent | None:
    return (
        AccessEvent.objects.filter(action=Action.AUDIT_VERIFIED)
        .order_by("-occurred_at")
        .only("occurred_at", "outcome")
        .first()
    )


def agency_status(agency: Agency, now: datetime.datetime) -> dict[str, Any]:
    """The nightly jobs of one agency: its last complete purge and log verification."""
    limit = datetime.timedelta(hours=settings.ALPR_HEALTH_DAILY_HOURS)
    young = agency.created_at is not None and now - agency.created_at < limit
    with schema_context(agency.schema_name):
        purged = last_successful_purge_at()
        verification = _last_verification()
    verified_at = verification.occurred_at if verification else None
    verified_ok = verification is None or verification.outcome == Outcome.ALLOWED
    purge_ok = (purged is not None and now - purged < limit) or (purged is None and young)
    verify_ok = verified_ok and (
        (verified_at is not None and now - verified_at < limit) or (verified_at is None and young)
    )
    return {
        "ok": purge_ok and verify_ok,
        "last_purge": _iso(purged),
        "last_verification": _iso(verified_at),
        "last_verification_ok": verified_ok,
    }


def report(*, agencies: list[Agency] | None = None, now: datetime.datetime | None = None) -> Report:
    """Every check; ``agencies`` defaults to all of them."""
    result = Report(now=now or timezone.now())
    database_up = _check_database(result)
    _check_redis(result)
    if not database_up:
        return result
    if agencies is None:
        agencies = list(Agency.objects.exclude(schema_name=PUBLIC_SCHEMA).order_by("slug"))
    statuses = {}
    for agency in agencies:
        statuses[agency.slug] = status = agency_status(agency, result.now)
        if not status["ok"]:
            result.failing.append(f"agency:{agency.slug}")
    result.checks["agencies"] = statuses
    return result
