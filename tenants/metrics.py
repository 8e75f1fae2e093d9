"""Prometheus metrics of every app: the definitions, nothing else (prometheus_client).

In ``tenants`` so that ``audit`` and ``captures`` (above it) can count what they do. Every
process counts its own; with ``PROMETHEUS_MULTIPROC_DIR`` set (production: the web and the
worker processes of a node share one folder) the values of all of a node's processes are added
up when ``/metrics`` is read (``alpr_portal.observability``). Labels are bounded: methods,
status codes, URL names, outcomes, agencies' schemas.

Hotlists (another app) count the alerts they raise with ``ALERTS.labels(schema=...).inc()``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "alpr_http_requests",
    "HTTP requests answered, by method, URL name and status code.",
    ["method", "view", "status"],
)
HTTP_SECONDS = Histogram(
    "alpr_http_request_seconds",
    "Time to answer an HTTP request, by URL name.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CAPTURES_INGESTED = Counter(
    "alpr_captures_ingested",
    "Captures stored by the camera API (new ones, not idempotent repeats), by schema.",
    ["schema"],
)
READS = Counter(
    "alpr_reads",
    "Plate readings finished by the workers, by outcome (read, unread, failed).",
    ["outcome"],
)
READ_SECONDS = Histogram(
    "alpr_read_seconds",
    "Time a worker spent reading one capture (both images).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
READ_LAG_SECONDS = Histogram(
    "alpr_read_lag_seconds",
    "From a capture's arrival to its reading being stored (queueing included).",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
ALERTS = Counter("alpr_alerts", "Hotlist alerts raised, by schema.", ["schema"])
PURGE_SECONDS = Histogram(
    "alpr_purge_seconds",
    "Duration of one agency's retention purge run.",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
PURGE_ROWS = Counter(
    "alpr_purge_captures_deleted", "Captures deleted by the retention purge, by schema.", ["schema"]
)
PURGE_FILES = Counter(
    "alpr_purge_files_deleted", "Image files deleted by the retention purge, by schema.", ["schema"]
)
PURGE_RUNS = Counter(
    "alpr_purge_runs", "Retention purge runs, by schema and outcome.", ["schema", "outcome"]
)
VERIFICATIONS = Counter(
    "alpr_audit_verifications",
    "Access-log verifications (chain and checkpoints), by schema and result (ok, broken).",
    ["schema", "result"],
)
