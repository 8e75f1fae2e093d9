"""The portal's WSGI app plus one bare endpoint, for the ingest benchmark's floor.

``POST /__bare__`` reads the request body and answers 201 with a small JSON body, in the same
gunicorn (same workers, threads, parsing of the socket) but without Django; every other path
goes to the portal. Never used outside ``tests/benchmarks/bench_prod_ingest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from alpr_portal.wsgi import application as portal

BODY = b'{"id": "00000000-0000-4000-8000-000000000000", "status": "pending"}'


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/__bare__":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        stream = environ["wsgi.input"]
        while length > 0:
            chunk = stream.read(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)
        start_response(
            "201 Created",
            [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))],
        )
        return [BODY]
    return portal(environ, start_response)
