"""Demo step 2: a set of cameras and a few hundred captures pushed through the real API.

Runs from ``manage.py seed_demo`` before the web server is up, so the requests go through
Django's whole request stack in-process (tenant routing, middleware, the real API view, encrypted
storage); the OCR tasks they queue are read by the worker once ``make demo`` starts it.
Idempotent: capture ids are fixed, so a rerun stores nothing twice.
"""

from __future__ import annotations

from io import TextIOBase

from django_tenants.utils import schema_context

from captures.models import Capture
from captures.synthetic import simulate
from tenants.models import Agency
from tenants.schemas import use_public_schema

DEMO_CAPTURES = 300
DEMO_SEED = 2026
DEMO_PREFIX = "Demo"
# Plates worn, dirty or shot at an angle more often than the default mix, so the real reader's
# confidences spread (a clean synthetic plate reads at 99.9%).
DEMO_DIFFICULTIES = (0.0, 0.3, 0.45, 0.6, 0.7)


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    with schema_context(agency.schema_name):
        existing = Capture.objects.filter(camera__name__startswith=f"{DEMO_PREFIX}: ").count()
    if existing >= DEMO_CAPTURES:
        stdout.write(f"Captures: {existing} demo captures already there.")
        return
    cameras = simulate.ensure_cameras(agency, prefix=DEMO_PREFIX)
    use_public_schema()
    send = simulate.InProcessTransport(host=simulate.agency_host(agency))
    requests = simulate.generate(
        cameras,
        count=DEMO_CAPTURES,
        seed=DEMO_SEED,
        spread_hours=min(72, 24 * agency.retention_days - 1),
        difficulties=DEMO_DIFFICULTIES,
    )
    result = simulate.run(requests, send)
    use_public_schema()
    stdout.write(f"Captures: {result.summary()}.")
    for error in result.errors[:3]:
        stdout.write(f"  refused: {error}")
    stdout.write(
        "  The worker reads them once it runs; `manage.py simulate_cameras --agency "
        f"{agency.slug} --count 50 --rate 2` pushes more through the running server."
    )
