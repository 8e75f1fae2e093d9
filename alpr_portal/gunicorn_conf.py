"""gunicorn's configuration (``gunicorn alpr_portal.wsgi --config python:alpr_portal.gunicorn_conf``).

Every value comes from the environment (README, "Configuration for production"):
``ALPR_BIND`` (default ``127.0.0.1:8000``: only the TLS proxy talks to gunicorn),
``WEB_CONCURRENCY`` (worker processes, default 2 per core + 1), ``ALPR_WEB_THREADS``
(threads per worker, default 4), ``ALPR_WEB_TIMEOUT`` (seconds, default 60) and
``ALPR_FORWARDED_ALLOW_IPS`` (the proxy's addresses whose ``X-Forwarded-*`` headers count).
"""

from __future__ import annotations

import os

bind = os.environ.get("ALPR_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1) + 1)))
threads = int(os.environ.get("ALPR_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("ALPR_WEB_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# A recycled worker never grows without bound (image decoding allocates a lot).
max_requests = int(os.environ.get("ALPR_WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("ALPR_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("ALPR_WEB_ACCESS_LOG", "-")
errorlog = "-"
# The request id (set by the portal's middleware, answered as X-Request-ID) is on every line.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
