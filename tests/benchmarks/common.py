"""What the benchmark scripts share: their own database, a benchmark agency, percentiles."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse


def ensure_database(url: str | None = None) -> str:
    """Create the benchmark's database (``DATABASE_URL`` unless given) if it is missing.

    Benchmarks fill and wipe their database: refuse to run without one named for them."""
    url = url or os.environ.get("DATABASE_URL", "")
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.startswith("bench"):
        sys.exit(
            "Set DATABASE_URL to a database of the benchmark's own, named bench_<something> "
            "(e.g. postgres://postgres@127.0.0.1:5432/bench_search); it is created if missing."
        )
    import psycopg

    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}", flush=True)
    return url


def bench_agency(slug: str, name: str, *, timezone: str = "UTC"):
    """The benchmark's agency (created, or its schema migrated when it exists); needs
    ``django.setup()`` first."""
    from django.core.management import call_command

    from tenants.models import Agency
    from tenants.services import agency_create, platform_ensure

    call_command("migrate_schemas", "--shared", verbosity=0)
    platform_ensure(domain="localhost")
    agency = Agency.objects.filter(slug=slug).first()
    if agency is None:
        return agency_create(
            slug=slug, name=name, domain=f"{slug}.localhost", timezone=timezone
        ).agency
    call_command("migrate_schemas", "--schema", agency.schema_name, verbosity=0)
    return agency


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0.95 for p95) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_note(before: float, after: float | None = None) -> str:
    """The machine's load while measuring, in words: read from it, never assumed."""
    cores = os.cpu_count() or 1
    after = os.getloadavg()[0] if after is None else after
    said = f"1-minute load average {before:.1f} at the start and {after:.1f} at the end, on {cores} cores"
    if max(before, after) <= 0.5 * cores:
        return f"{said}: the machine was otherwise quiet."
    return f"{said}: other work shared the cores, so read the times as upper bounds."


def reset_identities(cur, schema: str) -> None:
    """Rows copied into ``schema`` keep their ids: move each identity sequence past them (the
    portal and later migrations insert rows there)."""
    cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND is_identity = 'YES'",
        [schema],
    )
    for table, column in cur.fetchall():
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), max({column})) "  # noqa: S608
            f'FROM "{schema}"."{table}" HAVING max({column}) IS NOT NULL',
            [f'"{schema}"."{table}"', column],
        )
