"""Metrics over HTTP and of HTTP: the request middleware and the ``/metrics`` exposition.

The counters and histograms are defined in ``tenants.metrics`` (every app counts there). At
each scrape the health figures (``alpr_portal.health``: queue depths, heartbeat ages, each
agency's last purge and verification) are added as gauges, read fresh from Redis and the
database, so they are right whichever process answers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from alpr_portal import health
from tenants import metrics

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


class MetricsMiddleware:
    """Counts every request by method, URL name and status, and times it by URL name."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unmatched"
        method = request.method if request.method in METHODS else "other"
        metrics.HTTP_REQUESTS.labels(method=method, view=view, status=response.status_code).inc()
        metrics.HTTP_SECONDS.labels(view=view).observe(time.perf_counter() - started)
        return response


def _timestamp(value: str | None) -> float:
    import datetime

    return datetime.datetime.fromisoformat(value).timestamp() if value else 0.0


class HealthCollector:
    """The health report as gauges (0 for a time that never happened)."""

    def collect(self) -> Iterator[Metric]:
        report = health.report().as_json()
        up = GaugeMetricFamily("alpr_health_ok", "1 when /healthz would answer 200.")
        up.add_metric([], 0.0 if report["failing"] else 1.0)
        yield up
        depth = GaugeMetricFamily(
            "alpr_queue_depth", "Messages waiting per queue.", labels=["queue"]
        )
        for queue, count in report.get("queues", {}).items():
            depth.add_metric([queue], float(count))
        yield depth
        beat = GaugeMetricFamily("alpr_beat_last_run_timestamp_seconds", "Beat's last run.")
        beat.add_metric([], _timestamp(report.get("beat", {}).get("last")))
        yield beat
        worker = GaugeMetricFamily(
            "alpr_worker_heartbeat_timestamp_seconds", "Last heartbeat per queue.", labels=["queue"]
        )
        for queue, stamp in report.get("workers", {}).items():
            worker.add_metric([queue], _timestamp(stamp["last"]))
        yield worker
        yield from _agency_gauges(report.get("agencies", {}))


def _agency_gauges(agencies: dict[str, Any]) -> Iterator[Metric]:
    purge = GaugeMetricFamily(
        "alpr_last_purge_timestamp_seconds", "Last complete purge.", labels=["agency"]
    )
    verified = GaugeMetricFamily(
        "alpr_last_verification_timestamp_seconds",
        "Last access-log verification.",
        labels=["agency"],
    )
    verified_ok = GaugeMetricFamily(
        "alpr_last_verification_ok", "1 when the last verification passed.", labels=["agency"]
    )
    for slug, status in agencies.items():
        purge.add_metric([slug], _timestamp(status["last_purge"]))
        verified.add_metric([slug], _timestamp(status["last_verification"]))
        verified_ok.add_metric([slug], 1.0 if status["last_verification_ok"] else 0.0)
    yield purge
    yield verified
    yield verified_ok


def exposition() -> bytes:
    """The text format: this node's counters (all its processes' when multiprocess) + health."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
        text = generate_latest(counters)
    else:
        text = generate_latest(REGISTRY)
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(HealthCollector())
    return text + generate_latest(gauges)
