"""Limits of the camera API, and the count of refused camera keys.

- Every request of one camera counts against ``ALPR_CAMERA_RATE`` (e.g. 120 a minute).
- Every refused key attempt from one address counts against ``ALPR_CAMERA_FAILURE_RATE``;
  past it, the address gets 429 for the rest of the window without its keys being checked.

Both are fixed windows in Redis (``INCR``, then ``EXPIRE ... NX`` in the same transaction), per
agency schema. When Redis cannot be reached, ``ALPR_CAMERA_RATE_FAIL_OPEN`` decides: true (the
default) lets requests through and logs a warning, false answers 503. After a failure Redis is
not asked again for ``_BREAKER_SECONDS``, so an outage costs one timeout, not one per request.

Refused key attempts are also counted in the agency's schema (``CameraAuthFailure``: one row
per hour, address, key prefix and reason), for the Administrators' "failed camera sign-ins".
"""

from __future__ import annotations

import datetime
import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from captures.models import Camera, CameraAuthFailure
from tenants.schemas import current_schema

logger = logging.getLogger(__name__)

KEY_PREFIX = "alpr:ratelimit"
_TIMEOUT_SECONDS = 0.5
_BREAKER_SECONDS = 5.0


class RateLimited(Exception):
    """Over a limit: ``retry_after`` seconds until the window ends."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class LimiterUnavailable(Exception):
    """Redis cannot be reached and the limit is set to fail closed."""

    retry_after = 30


@dataclass(frozen=True)
class _Window:
    key: str
    seconds: int
    retry_after: int


_clients: dict[str, redis.Redis] = {}
_down_until: dict[str, float] = {}
_lock = threading.Lock()


def _client() -> redis.Redis:
    url = settings.REDIS_URL
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_timeout=_TIMEOUT_SECONDS, socket_connect_timeout=_TIMEOUT_SECONDS
            )
            _clients[url] = client
    return client


def _window(kind: str, subject: str, rate: tuple[int, int], now: float) -> _Window:
    seconds = rate[1]
    index = int(now // seconds)
    retry_after = max(1, math.ceil((index + 1) * seconds - now))
    key = f"{KEY_PREFIX}:{current_schema()}:{kind}:{subject}:{index}"
    return _Window(key=key, seconds=seconds, retry_after=retry_after)


def _redis_call(operation) -> int | None:
    """Run ``operation(client)``; None when Redis is down and the limit fails open."""
    url = settings.REDIS_URL
    if time.monotonic() >= _down_until.get(url, 0.0):
        try:
            return int(operation(_client()) or 0)
        except (redis.RedisError, OSError) as exc:
            _down_until[url] = time.monotonic() + _BREAKER_SECONDS
            logger.warning(
                "Camera API rate limit: Redis unreachable (%s); failing %s for %.0f s.",
                exc,
                "open" if settings.ALPR_CAMERA_RATE_FAIL_OPEN else "closed",
                _BREAKER_SECONDS,
            )
    if settings.ALPR_CAMERA_RATE_FAIL_OPEN:
        return None
    raise LimiterUnavailable()


def _increment(window: _Window) -> int | None:
    def incr(client: redis.Redis) -> int:
        pipe = client.pipeline(transaction=True)
        pipe.incr(window.key)
        pipe.expire(window.key, window.seconds + 1, nx=True)
        return pipe.execute()[0]

    return _redis_call(incr)


def _per(rate: tuple[int, int]) -> str:
    count, seconds = rate
    unit = {1: "a second", 60: "a minute", 3600: "an hour", 86400: "a day"}.get(seconds)
    return f"{count} {unit}" if unit else f"{count} every {seconds} seconds"


def camera_rate_check(*, camera: Camera, now: float | None = None) -> None:
    """Count one request of ``camera``; RateLimited when it is over ``ALPR_CAMERA_RATE``."""
    rate = settings.ALPR_CAMERA_RATE
    if rate is None:
        return
    window = _window("camera", str(camera.pk), rate, time.time() if now is None else now)
    count = _increment(window)
    if count is not None and count > rate[0]:
        raise RateLimited(
            f"Too many uploads from this camera: at most {_per(rate)}. "
            f"Wait {window.retry_after} seconds, then send again.",
            retry_after=window.retry_after,
        )


def address_check(*, address: str | None, now: float | None = None) -> None:
    """RateLimited when ``address`` already had ``ALPR_CAMERA_FAILURE_RATE`` refused keys."""
    rate = settings.ALPR_CAMERA_FAILURE_RATE
    if rate is None:
        return
    window = _window("address", address or "unknown", rate, time.time() if now is None else now)
    count = _redis_call(lambda client: client.get(window.key))
    if count is not None and count >= rate[0]:
        raise RateLimited(
            f"Too many refused camera keys from this address: at most {_per(rate)}. "
            f"Wait {window.retry_after} seconds, then send the right key.",
            retry_after=window.retry_after,
        )


def _hour(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def camera_auth_failure_record(
    *,
    address: str | None,
    key_prefix: str,
    reason: str,
    now: datetime.datetime | None = None,
) -> None:
    """Count one refused key attempt: in Redis toward the address's limit, and in the
    schema's ``CameraAuthFailure`` row of this hour, address, prefix and reason.

    Rows older than ``ALPR_CAMERA_FAILURE_DAYS`` are removed when a new row is started.
    """
    rate = settings.ALPR_CAMERA_FAILURE_RATE
    if rate is not None:
        _increment(_window("address", address or "unknown", rate, time.time()))
    now = now or timezone.now()
    key_prefix = key_prefix[:16]
    camera_id = (
        Camera.objects.filter(key_prefix=key_prefix).values_list("pk", flat=True).first()
        if key_prefix
        else None
    )
    table = connection.ops.quote_name(CameraAuthFailure._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS f (window_start, client_ip, key_prefix, camera_id, reason, "  # noqa: S608
            "attempts, first_at, last_at) VALUES (%s, %s, %s, %s, %s, 1, %s, %s) "
            "ON CONFLICT (window_start, client_ip, key_prefix, reason) "
            "DO UPDATE SET attempts = f.attempts + 1, last_at = EXCLUDED.last_at "
            "RETURNING (xmax = 0)",
            [_hour(now), address or "", key_prefix, camera_id, reason, now, now],
        )
        inserted = cursor.fetchone()[0]
        if inserted:
            cutoff = now - datetime.timedelta(days=settings.ALPR_CAMERA_FAILURE_DAYS)
            CameraAuthFailure.objects.filter(window_start__lt=cutoff).delete()
