"""What legal holds cost the purge: the same expired set purged without holds and with many.

Builds an agency ``bench-holds`` with ``--live`` captures within retention and, per run,
``--expired`` captures of one expired day (rows only: file deletion is measured by
bench_purge.py and is the same with or without holds). Each run purges the expired set once
without holds and once with ``--holds`` holds keeping ``--held`` of the expired captures (and
as many live ones, so the hold table is not all expired rows); medians of ``--runs``. Then
``verify_retention`` and the first page of a hold's page (100 captures) with the holds in place.

Use a database of its own; it is created if missing:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_holds \\
        .venv/bin/python tests/benchmarks/bench_holds.py [--live 200000] [--expired 20000]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")

from tests.benchmarks.common import ensure_database, load_note  # noqa: E402

SLUG = "bench-holds"
INSERT = """
    INSERT INTO captures_capture (
        id, camera_id, captured_at, received_at, latitude, longitude, plate_image, vehicle_image,
        key_day, status, edge_plate, edge_state, machine_plate, machine_state, ocr_model, plate,
        state, match_key, review_status, reviewed_by_username)
    SELECT gen_random_uuid(), %(camera)s, t, t, 45.5, -122.6,
        to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '/' || md5(%(salt)s || i) || '.bin', '',
        (t AT TIME ZONE 'UTC')::date, 'read', '', '', p, 'OR', 'bench', p, 'OR', p,
        'unconfirmed', ''
    FROM generate_series(1, %(n)s) AS i,
         LATERAL (SELECT %(start)s::timestamptz + (%(span)s::interval * i / %(n)s) AS t,
                         'H' || lpad(((i::bigint * 7919) %% 900000)::text, 6, '0') AS p) x
"""


def _say(message: str) -> None:
    print(f"[bench_holds] {message}", flush=True)


def _fresh_agency():
    from django.db import connection

    from tenants.models import Agency
    from tenants.services import agency_create

    old = Agency.objects.filter(slug=SLUG).first()
    if old is not None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{old.schema_name}" CASCADE')
        old.domains.all().delete()
        Agency.objects.filter(pk=old.pk).delete()
    return agency_create(slug=SLUG, name="Holds benchmark", domain=f"{SLUG}.localhost").agency


def _insert(cursor, *, camera: int, salt: str, n: int, start, span) -> None:
    cursor.execute(INSERT, {"camera": camera, "salt": salt, "n": n, "start": start, "span": span})


def _place_holds(*, holds: int, expired_ids: list, live_ids: list, now) -> None:
    """Holds written directly (hold_place's checks and log entries are not what is measured)."""
    from captures.holds.models import HeldCapture, LegalHold

    per = max(1, len(expired_ids) // holds)
    for h in range(holds):
        hold = LegalHold.objects.create(
            case_number=f"B-{h}",
            reason="bench",
            ends_on=(now + datetime.timedelta(days=90)).date(),
            ends_at=now + datetime.timedelta(days=90),
            source="command",
            created_by_username="bench",
        )
        chunk = expired_ids[h * per : (h + 1) * per] + live_ids[h * per : (h + 1) * per]
        HeldCapture.objects.bulk_create(
            [HeldCapture(hold=hold, capture_id=pk) for pk in chunk], batch_size=5000
        )


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser()
    parser.add_argument("--live", type=int, default=200_000)
    parser.add_argument("--expired", type=int, default=20_000)
    parser.add_argument("--holds", type=int, default=100)
    parser.add_argument("--held", type=int, default=10_000, help="expired captures held")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from captures.holds.models import LegalHold
    from captures.holds.selectors import hold_captures
    from captures.models import Camera, Capture
    from captures.retention.checks import verify_retention
    from captures.retention.services import purge_expired
    from tests.benchmarks.report import write_section

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    agency = _fresh_agency()
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    cutoff = now - datetime.timedelta(days=agency.retention_days)
    day = datetime.timedelta(days=1)
    plain, held_runs, kept = [], [], 0
    with schema_context(agency.schema_name):
        camera = Camera.objects.create(
            name="Bench", latitude=45.5, longitude=-122.6, key_prefix="benchholds", key_hash="0"
        ).pk
        with connection.cursor() as cursor:
            _say(f"inserting {args.live:,} live captures")
            _insert(cursor, camera=camera, salt="live", n=args.live,
                    start=cutoff + datetime.timedelta(seconds=1), span=day * 29)  # fmt: skip
            cursor.execute("ANALYZE")
        live_ids = list(Capture.objects.values_list("pk", flat=True)[: args.held])
        for run in range(args.runs):
            for with_holds in (False, True):
                with connection.cursor() as cursor:
                    _insert(cursor, camera=camera, salt=f"old{run}{with_holds}", n=args.expired,
                            start=cutoff - day, span=day - datetime.timedelta(seconds=1))  # fmt: skip
                    cursor.execute("ANALYZE captures_capture")
                LegalHold.objects.all().delete()
                if with_holds:
                    expired_ids = list(
                        Capture.objects.filter(captured_at__lte=cutoff).values_list("pk", flat=True)
                    )[: args.held]
                    _place_holds(holds=args.holds, expired_ids=expired_ids, live_ids=live_ids,
                                 now=now)  # fmt: skip
                result = purge_expired(agency=agency, now=now)
                (held_runs if with_holds else plain).append(result.duration_seconds)
                if with_holds:
                    kept = result.held_kept
                _say(f"run {run + 1}, holds={with_holds}: {result.duration_seconds:.2f} s, "
                     f"{result.captures_deleted:,} deleted, {result.held_kept:,} kept")  # fmt: skip
                if with_holds and run < args.runs - 1:
                    LegalHold.objects.all().delete()
                    purge_expired(agency=agency, now=now)  # clear the held rows for the next run
        t0 = time.monotonic()
        report = verify_retention(agency=agency, now=now)
        verify_seconds = time.monotonic() - t0
        hold = LegalHold.objects.order_by("pk").first()
        page_times = []
        for _ in range(5):
            t0 = time.perf_counter()
            list(hold_captures(hold)[:100])
            page_times.append(time.perf_counter() - t0)
        per_hold = hold.items.count()
    body = f"""
Database of its own: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_holds` before the command.

Agency with {args.live:,} captures within retention; each run adds {args.expired:,} captures of
one expired day (rows only; file deletion is in the purge benchmark above) and purges them,
once without holds and once with {args.holds} holds keeping {args.held:,} of them (and
{len(live_ids):,} live captures). Medians of {args.runs} runs; {load_note(load_before)} The ratio
is the figure to read: noise slows both purges alike.

| figure | value |
| --- | --- |
| purge of {args.expired:,} expired captures, no holds | {statistics.median(plain):.2f} s ({statistics.median(plain) / args.expired * 1000:.2f} s per 1,000 deleted) |
| the same with {args.holds} holds keeping {args.held:,} of them ({args.expired - args.held:,} deleted) | {statistics.median(held_runs):.2f} s ({statistics.median(held_runs) / (args.expired - args.held) * 1000:.2f} s per 1,000 deleted) |
| expired captures kept by the holds (last run) | {kept:,} |
| `verify_retention` with the holds in place | {"OK" if report.ok else "FAILED"} ({report.held_captures:,} held) in {verify_seconds:.2f} s |
| first page (100) of a hold's page, hold of {per_hold:,} captures (median of 5) | {statistics.median(page_times) * 1000:.1f} ms |

Each batch selects expired captures `NOT IN` the held ids (a hashed subplan, read once per
batch), so held rows at the old end of the time index are stepped over by every batch: the cost
grows with held expired captures times batches, not with the agency's size.
"""
    write_section("holds", "Legal holds in the purge", body)
    _say(body)


if __name__ == "__main__":
    main()
