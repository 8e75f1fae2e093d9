"""Hotlist benchmark: importing a 1,000,000-entry extract, and matching one read against it.

Run from the repository root (it uses its own database, created if missing)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_hotlists \\
        .venv/bin/python tests/benchmarks/bench_hotlists.py [--entries 1000000] [--reads 5000]

- Import: a CSV extract of ``--entries`` lines (7-character plates, 80% with a state, every
  reason, references, expiry dates, notes) through ``hotlist_import`` into an empty list (the
  first load), then the same file again (all unchanged), then a file with 1% of the lines
  changed: parse, check, COPY into a temporary table, set-based replace, one transaction.
- Matching: ``entries_matching`` (the lookup ``match_read`` runs at ingest, in the worker and
  in review) for ``--reads`` reads, half of them plates on the list (exact or with confusable
  characters swapped), half not; and ``match_read`` itself for reads without a hit (what
  almost every read costs: it writes nothing).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_hotlists")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")

from tests.benchmarks.common import bench_agency, ensure_database, load_note, percentile  # noqa: E402

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALPR_ENV", "development")

SLUG = "benchhot"
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
STATES = ["CA", "CA", "CA", "NV", "AZ", "OR", "TX", "WA", "NY", ""]
REASONS = ["SV", "SP", "WP", "MP", "AA", "PO", "BO", "OT"]
SWAPS = str.maketrans({"B": "8", "8": "B", "O": "0", "0": "O", "S": "5", "5": "S", "Z": "2"})


def plate(rng: random.Random) -> str:
    return (
        str(rng.randint(1, 9))
        + "".join(rng.choice(LETTERS) for _ in range(3))
        + f"{rng.randint(0, 999):03d}"
    )


def extract(n: int, seed: int = 7) -> tuple[bytes, list[str]]:
    rng = random.Random(seed)
    lines = ["plate,state,reason,reference,expires,notes"]
    plates = []
    for i in range(n):
        p = plate(rng)
        plates.append(p)
        day = 1 + i % 28
        lines.append(
            f"{p},{rng.choice(STATES)},{rng.choice(REASONS)},N{i:09d},2027-0{1 + i % 9}-{day:02d},"
            f"{'grey sedan' if i % 3 else ''}"
        )
    return ("\n".join(lines) + "\n").encode(), plates


def changed(data: bytes, share: float) -> bytes:
    lines = data.decode().split("\n")
    step = int(1 / share)
    for i in range(1, len(lines) - 1, step):
        parts = lines[i].split(",")
        parts[3] = "C" + parts[3][1:]
        lines[i] = ",".join(parts)
    return "\n".join(lines).encode()


CPU: dict[str, float] = {}


def timed(fn, name: str = ""):
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    CPU[name] = time.process_time() - cpu
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--no-write", action="store_true", help="Do not touch PERFORMANCE.md.")
    parser.add_argument(
        "--match-only",
        action="store_true",
        help="Measure matching against the list a previous run imported (its own section).",
    )
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from captures.hotlists.imports import hotlist_import
    from captures.hotlists.matching import entries_matching, match_read
    from captures.hotlists.models import Hit, Hotlist
    from captures.models import Camera, Capture
    from captures.reading.matching import match_key
    from tests.benchmarks.report import write_section

    agency = bench_agency(SLUG, "Hotlist Bench PD")
    if args.match_only:
        match_only(agency, args)
        return
    load_before = os.getloadavg()[0]
    data, plates = extract(args.entries)
    print(f"extract: {args.entries:,} lines, {len(data) / 1e6:.1f} MB", flush=True)
    with schema_context(agency.schema_name):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM hotlists_hit")
            cursor.execute("DELETE FROM hotlists_hotlistentry")
            cursor.execute("DELETE FROM hotlists_hotlist")
        hotlist = Hotlist.objects.create(
            name="bench extract", kind=Hotlist.Kind.EXTRACT, owner="bench"
        )

        def run(blob: bytes):
            return hotlist_import(
                agency=agency, hotlist=hotlist, data=blob, file_name="x.csv", username="bench"
            )

        first, first_s = timed(lambda: run(data), "first")
        print(f"first import: {first_s:.1f} s ({first.summary()})", flush=True)
        same, same_s = timed(lambda: run(data), "same")
        print(f"same file again: {same_s:.1f} s ({same.summary()})", flush=True)
        changes, changes_s = timed(lambda: run(changed(data, 0.01)), "changed")
        print(f"1% changed: {changes_s:.1f} s ({changes.summary()})", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE hotlists_hotlistentry")

        rng = random.Random(11)
        reads = []
        for i in range(args.reads):
            if i % 2:
                reads.append(plate(rng))  # almost surely not on the list
            else:
                p = rng.choice(plates)
                reads.append(p.translate(SWAPS) if i % 4 == 0 else p)
        for r in reads[:200]:  # warm the cache and the connection
            entries_matching(plate=r, state="CA")
        lookup_ms, hits = [], 0
        for r in reads:
            started = time.perf_counter()
            found = entries_matching(plate=r, state="")
            lookup_ms.append((time.perf_counter() - started) * 1000)
            hits += bool(found)
        with connection.cursor() as cursor:
            floor_ms = []
            for _ in range(2000):  # the round trip alone, on the same connection
                started = time.perf_counter()
                cursor.execute("SELECT 1")
                cursor.fetchall()
                floor_ms.append((time.perf_counter() - started) * 1000)
            server_ms = []
            for r in reads[:500]:  # the lookup inside PostgreSQL
                cursor.execute(
                    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT e.id FROM hotlists_hotlistentry e "
                    "JOIN hotlists_hotlist h ON h.id = e.hotlist_id WHERE e.match_key = %s "
                    "AND h.active AND (e.expires_at IS NULL OR e.expires_at > now())",
                    [match_key(r)],
                )
                server_ms.append(float(cursor.fetchone()[0][0]["Execution Time"]))
        camera = Camera.objects.filter(name="bench camera").first() or Camera.objects.create(
            name="bench camera", latitude=34, longitude=-118, key_prefix="benchhot", key_hash="0"
        )
        capture = Capture.objects.create(
            camera=camera,
            captured_at=timezone.now(),
            latitude=34,
            longitude=-118,
            plate_image="bench",
            key_day=timezone.now().date(),
        )
        misses = [r for r in reads[1::2]][:2000]
        miss_ms = []
        for r in misses:
            started = time.perf_counter()
            match_read(
                capture=capture, plate=r, state="CA", confidence=0.9, source=Hit.Source.CAMERA
            )
            miss_ms.append((time.perf_counter() - started) * 1000)
        capture.delete()
    load_after = os.getloadavg()[0]
    body = f"""
One extract list of {args.entries:,} entries in one agency (7-character plates, 90% with a
state, every reason, references, expiry dates, notes: {len(data) / 1e6:.0f} MB of CSV).

| import (`hotlist_import`, one transaction) | wall time | of which Python CPU | added | removed | unchanged |
| --- | ---: | ---: | ---: | ---: | ---: |
| first load into the empty list | {first_s:.1f} s | {CPU["first"]:.1f} s | {first.added:,} | {first.removed:,} | {first.unchanged:,} |
| the same file again | {same_s:.1f} s | {CPU["same"]:.1f} s | {same.added:,} | {same.removed:,} | {same.unchanged:,} |
| 1% of the lines changed | {changes_s:.1f} s | {CPU["changed"]:.1f} s | {changes.added:,} | {changes.removed:,} | {changes.unchanged:,} |

| matching one read against the list | reads | median | p95 | max |
| --- | ---: | ---: | ---: | ---: |
| `entries_matching` (half on the list, a quarter of those with confusable characters swapped; {hits:,} found) | {len(lookup_ms):,} | {statistics.median(lookup_ms):.3f} ms | {percentile(lookup_ms, 0.95):.3f} ms | {max(lookup_ms):.2f} ms |
| `match_read` of a read with no hit (every read's cost at ingest: nothing written) | {len(miss_ms):,} | {statistics.median(miss_ms):.3f} ms | {percentile(miss_ms, 0.95):.3f} ms | {max(miss_ms):.2f} ms |
| for scale: `SELECT 1` on the same connection (the round trip alone) | {len(floor_ms):,} | {statistics.median(floor_ms):.3f} ms | {percentile(floor_ms, 0.95):.3f} ms | {max(floor_ms):.2f} ms |
| the lookup inside PostgreSQL (`EXPLAIN ANALYZE` execution time) | {len(server_ms):,} | {statistics.median(server_ms):.3f} ms | {percentile(server_ms, 0.95):.3f} ms | {max(server_ms):.2f} ms |

Import phases (wall): first load parse {first.seconds.get("parse", 0):.1f} s + COPY into the
table {first.seconds.get("copy", 0):.1f} s; same file again parse
{same.seconds.get("parse", 0):.1f} s + COPY into a temporary table
{same.seconds.get("copy", 0):.1f} s + replace {same.seconds.get("replace", 0):.1f} s; 1%
changed parse {changes.seconds.get("parse", 0):.1f} s + COPY {changes.seconds.get("copy", 0):.1f} s
+ replace {changes.seconds.get("replace", 0):.1f} s.

Targets: matching well under 1 ms median, import under 60 s. The lookup is one query on the
b-tree index `hotlist_entry_match_key` (an exact plate has the same key; a read with Ls asks for
its look-alike keys in the same query, `match_key = ANY(...)`), measured from Python through
Django's connection (round trip to the local PostgreSQL included).
{load_note(load_before, load_after)}
"""  # noqa: S608 (a report, not SQL)
    print(body)
    if not args.no_write:
        write_section("hotlists", "Hotlists: import and matching", body)


def match_only(agency, args) -> None:
    """Matching alone, against the list an earlier run imported (kept in the database)."""
    from django_tenants.utils import schema_context

    from captures.hotlists.matching import entries_matching
    from captures.hotlists.models import HotlistEntry
    from tests.benchmarks.report import write_section

    load_before = os.getloadavg()[0]
    with schema_context(agency.schema_name):
        entries = HotlistEntry.objects.count()
        plates = list(HotlistEntry.objects.values_list("plate", flat=True)[:100_000])
        rng = random.Random(13)
        reads = [
            plate(rng) if i % 2 else rng.choice(plates).translate(SWAPS if i % 4 == 0 else {})
            for i in range(args.reads)
        ]
        for r in reads[:200]:
            entries_matching(plate=r)
        timings = []
        for r in reads:
            started = time.perf_counter()
            entries_matching(plate=r, state="CA")
            timings.append((time.perf_counter() - started) * 1000)
    load_after = os.getloadavg()[0]
    body = f"""
`entries_matching` for {len(timings):,} reads (half on the list, a quarter of those with
confusable characters swapped) against the {entries:,} entries a full run imported:
median {statistics.median(timings):.3f} ms, p95 {percentile(timings, 0.95):.3f} ms,
max {max(timings):.2f} ms. 1-minute load average {load_before:.1f} at the start,
{load_after:.1f} at the end, on {os.cpu_count()} cores (shared machine).
"""
    print(body)
    if not args.no_write:
        write_section("hotlists-matching", "Hotlists: matching alone", body)


if __name__ == "__main__":
    main()
