"""Camera API ingest and encrypted storage: latency and throughput.

Runs against the database in DATABASE_URL (default: the development database) in an agency
of its own (``bench-captures``, created if missing); images go to a temporary folder and
the captures it stores are deleted at the end. Nothing is queued for reading.

    python -m alpr_portal.devenv run -- python tests/benchmarks/bench_ingest.py [--count 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from captures.models import Capture
    from captures.storage import image_files
    from captures.synthetic import simulate
    from tenants.services import agency_create
    from tests.benchmarks.report import write_section

    settings.ALPR_STORAGE_DIR = Path(tempfile.mkdtemp(prefix="alpr-bench-images-"))
    settings.ALPR_OCR_QUEUE = "alpr-bench-discard"  # never consumed; purged below
    agency = agency_create(
        slug="bench-captures", name="Benchmark agency", domain="bench-captures.localhost"
    ).agency
    cameras = simulate.ensure_cameras(agency, count=4, prefix="Bench")
    requests = list(simulate.generate(cameras, count=args.count, seed=7, vehicle_ratio=0.3))
    plate_sizes = [len(r.files["plate_image"][1]) for r in requests]

    # Storage alone: encrypt + write, read + decrypt (one plate-sized image).
    sample = requests[0].files["plate_image"][1]
    writes, reads, names = [], [], []
    with schema_context(agency.schema_name):
        day = timezone.now().date()
        for _ in range(200):
            t0 = time.perf_counter()
            names.append(image_files.store_image(day=day, data=sample))
            writes.append((time.perf_counter() - t0) * 1000)
        for name in names:
            t0 = time.perf_counter()
            image_files.load_image(name)
            reads.append((time.perf_counter() - t0) * 1000)
        for name in names:
            image_files.delete_image(name)
    connection.set_schema_to_public()

    # The whole request: auth, checks, re-encoding, encryption, row, through Django's stack.
    send = simulate.InProcessTransport(host=simulate.agency_host(agency))
    started = time.perf_counter()
    result = simulate.run(iter(requests), send)
    wall = time.perf_counter() - started
    connection.set_schema_to_public()
    with schema_context(agency.schema_name):
        Capture.objects.filter(camera__name__startswith="Bench: ").delete()
    try:
        from alpr_portal.celery import app

        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("alpr-bench-discard")
    except Exception as exc:  # the broker may be down; the queue is never consumed anyway
        print(f"could not purge the discard queue: {exc}")

    w_med, w_p95 = _ms(writes)
    r_med, r_p95 = _ms(reads)
    a_med, a_p95 = _ms(result.latencies_ms)
    body = f"""
| what | median | p95 |
|---|---|---|
| store_image (encrypt + fsync'd write, {len(sample) / 1024:.0f} KiB plate) | {w_med:.2f} ms | {w_p95:.2f} ms |
| load_image (read + decrypt) | {r_med:.2f} ms | {r_p95:.2f} ms |
| `POST /api/v1/captures/` in-process, whole stack ({args.count} captures, 30% with a vehicle image) | {a_med:.1f} ms | {a_p95:.1f} ms |

One client, one process: {result.accepted}/{result.sent} accepted, {result.sent / wall:.1f} captures/s.
Plate images averaged {statistics.mean(plate_sizes) / 1024:.0f} KiB (JPEG, PNG, WebP mix). A request
checks the key, decodes and re-encodes each image (stripping metadata), encrypts and fsyncs each
file and inserts the row; a real web server adds its own overhead on top. Measured on a machine
shared with other jobs, so treat these as upper bounds.
"""
    write_section("captures-ingest", "Camera API ingest and encrypted storage", body)
    print(body)


if __name__ == "__main__":
    main()
