"""Access-log benchmark: 1,000,000 events in one agency.

Measures the auditor list page filtered by user and date (median over repeated requests
through the whole Django stack), keyset paging deep into the log, the plate filter, a CSV
export of all 1,000,000 rows (rows/s and the peak memory of the exporting process) and the
chain verification walk. Run it on a database of its own, never the shared dev database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_audit \\
        .venv/bin/python tests/benchmarks/bench_audit.py [--events 1000000] [--reload]

It then measures appends while the nightly prune runs on another log of
``--prune-events`` entries over 1,000 days (the oldest 27% past the two-year retention):
append latency (median, p95, max) from a second connection while idle, while the prune
verifies (no chain lock), while it removes the verified prefix (the lock per batch), and, for
comparison, while the chain lock is held for a whole verification (how pruning used to run).
``--only-prune`` runs just that part (and rewrites just its section of docs/PERFORMANCE.md).

The events are bulk-loaded with PostgreSQL COPY, the hash chain computed in one Python loop
with the same canonical serialization as live appends (so verify_audit_log passes on them).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")

from tests.benchmarks.common import ensure_database  # noqa: E402

SLUG = "bench"
USERS = 50
PLATES = 20_000
CATEGORIES = [
    "stolen_vehicle",
    "amber_alert",
    "warrant",
    "missing_person",
    "investigation",
    "other",
]


def setup_django():
    import django

    django.setup()


def prepare(events: int, reload: bool) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from audit.models import AccessEvent
    from tenants.models import Agency
    from tenants.people.roles import Role, assign_roles
    from tenants.services import agency_create, platform_ensure

    call_command("migrate_schemas", "--shared", verbosity=0)
    platform_ensure(domain="localhost")
    agency = Agency.objects.filter(slug=SLUG).first()
    if agency is None:
        agency = agency_create(slug=SLUG, name="Bench County", domain=f"{SLUG}.localhost").agency
    else:
        call_command("migrate_schemas", "--schema", agency.schema_name, verbosity=0)
    with schema_context(agency.schema_name):
        model = get_user_model()
        for i in range(USERS):
            user, created = model.objects.get_or_create(username=f"officer{i:02d}")
            if created:
                assign_roles(user, [Role.OFFICER])
        auditor, created = model.objects.get_or_create(username="bench-auditor")
        if created:
            assign_roles(auditor, [Role.AUDITOR])
        have = AccessEvent.objects.count()
        if have >= events and not reload:
            print(f"{have} events already loaded")
            return
        if have:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE audit_flag")
                cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER USER")
                cursor.execute("TRUNCATE audit_accessevent CASCADE")
                cursor.execute("ALTER TABLE audit_accessevent ENABLE TRIGGER USER")
        user_ids = dict(model.objects.values_list("username", "id"))
        started = time.perf_counter()
        bulk_load(events, user_ids)
        print(f"loaded {events} events in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audit_accessevent")


def _generate(events: int, user_ids: dict[str, int], *, days: int = 365):
    """Rows in id order over the last ``days`` days, with the chain computed as they go."""
    from audit.chain import GENESIS_HASH, entry_hash

    rng = random.Random(42)
    end = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    start = end - datetime.timedelta(days=days)
    step = (end - start) / events
    names = [f"officer{i:02d}" for i in range(USERS)]
    prev = GENESIS_HASH
    for i in range(1, events + 1):
        name = rng.choice(names)
        roll = rng.random()
        values = {
            "id": i,
            "occurred_at": start + step * i,
            "actor_id": user_ids[name],
            "actor_username": name,
            "action": "search",
            "outcome": "allowed",
            "reason": "",
            "purpose_category": "",
            "purpose_text": "",
            "case_number": "",
            "query": {},
            "objects_touched": [],
            "related_event_id": None,
            "details": {},
            "client_ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
            "prev_hash": prev,
        }
        if roll < 0.6:
            values["purpose_category"] = rng.choice(CATEGORIES)
            values["purpose_text"] = "Vehicle reported in connection with an open case"
            values["case_number"] = f"26-{rng.randint(1, 99999):05d}"
            values["query"] = {
                "plate": f"{rng.randint(1, 9)}ABC{rng.randint(0, PLATES):05d}",
                "state": "CA",
                "from": "2026-01-01",
                "to": "2026-01-31",
                "cameras": [rng.randint(1, 40)],
                "include_unconfirmed": False,
                "similar": False,
            }
            values["details"] = {"result_count": rng.randint(0, 40)}
            if rng.random() < 0.03:
                values["outcome"] = "refused"
                values["reason"] = "No case number given."
        elif roll < 0.75:
            values["action"] = "login"
        elif roll < 0.9:
            values["action"] = "logout"
        else:
            values["action"] = "capture_viewed"
            values["objects_touched"] = [{"type": "capture", "id": f"{rng.getrandbits(64):016x}"}]
            values["related_event_id"] = max(1, i - rng.randint(1, 50))
        digest = entry_hash(values)
        values["entry_hash"] = digest
        prev = digest
        yield values


COPY_COLUMNS = (
    "id", "occurred_at", "actor_id", "actor_username", "action", "outcome", "reason",
    "purpose_category", "purpose_text", "case_number", "query", "objects_touched",
    "related_event_id", "details", "client_ip", "user_agent", "prev_hash", "entry_hash",
)  # fmt: skip


def bulk_load(events: int, user_ids: dict[str, int], *, days: int = 365) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        sql = f"COPY audit_accessevent ({', '.join(COPY_COLUMNS)}) FROM STDIN"
        with raw.copy(sql) as copy:
            for values in _generate(events, user_ids, days=days):
                row = [values[c] for c in COPY_COLUMNS]
                for idx in (10, 11, 13):
                    row[idx] = json.dumps(row[idx], ensure_ascii=False)
                copy.write_row(row)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('audit_accessevent', 'id'), %s)", [events]
        )


def _client():
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context

    from tenants.models import Agency
    from tests.support import verified_client

    agency = Agency.objects.get(slug=SLUG)
    with schema_context(agency.schema_name):
        auditor = get_user_model().objects.get(username="bench-auditor")
    return verified_client(agency, auditor), agency


def _median_ms(client, url: str, runs: int) -> tuple[float, int]:
    client.get(url)  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times), response.content.count(b'<td><a href="/audit/events/')


def measure_pages(runs: int) -> list[tuple[str, float, int]]:
    from django_tenants.utils import schema_context

    from audit.models import AccessEvent

    client, agency = _client()
    with schema_context(agency.schema_name):
        mid = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() // 2
        sample_plate = (
            AccessEvent.objects.filter(action="search", id__lt=mid)
            .order_by("-id")
            .values_list("query__plate", flat=True)
            .first()
        )
    today = datetime.date.today()
    week = (today - datetime.timedelta(days=7)).isoformat()
    half = (today - datetime.timedelta(days=190)).isoformat()
    half_end = (today - datetime.timedelta(days=180)).isoformat()
    cases = [
        ("user + last 7 days", f"/audit/?user=officer17&date_from={week}&date_to={today}"),
        (
            "user + 10 days six months ago",
            f"/audit/?user=officer17&date_from={half}&date_to={half_end}",
        ),
        (
            "user + date, page deep in the log",
            f"/audit/?user=officer17&date_from={half}&after={mid}",
        ),
        ("no filter, first page", "/audit/"),
        ("plate (JSON containment)", f"/audit/?plate={sample_plate}"),
        ("searches refused, first page", "/audit/?action=search&outcome=refused"),
    ]
    results = []
    for label, url in cases:
        median, rows = _median_ms(client, url, runs)
        results.append((label, median, rows))
        print(f"{label:40s} {median:7.1f} ms  ({rows} rows)")
    return results


def export_child() -> None:
    """Run in a child process so its peak RSS is the export's alone."""
    setup_django()
    client, _ = _client()
    started = time.perf_counter()
    response = client.get("/audit/export.csv")
    size = 0
    lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": lines - 1, "seconds": elapsed, "bytes": size, "peak_kb": peak_kb}))


def measure_verify() -> tuple[int, float]:
    from django_tenants.utils import schema_context

    from audit.chain import verify_chain

    with schema_context(SLUG):
        started = time.perf_counter()
        result = verify_chain()
        elapsed = time.perf_counter() - started
    assert result.ok, result.problem
    return result.checked, elapsed


PRUNE_SLUG = "benchprune"
PRUNE_DAYS = 1000


def prepare_prune_log(events: int) -> None:
    """A fresh log of ``events`` entries over 1,000 days in the agency ``benchprune``."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenants.models import Agency
    from tenants.services import agency_create, platform_ensure

    call_command("migrate_schemas", "--shared", verbosity=0)
    platform_ensure(domain="localhost")
    agency = Agency.objects.filter(slug=PRUNE_SLUG).first()
    if agency is None:
        agency = agency_create(
            slug=PRUNE_SLUG, name="Prune Bench County", domain=f"{PRUNE_SLUG}.localhost"
        ).agency
    else:
        call_command("migrate_schemas", "--schema", agency.schema_name, verbosity=0)
    with schema_context(agency.schema_name):
        model = get_user_model()
        for i in range(USERS):
            model.objects.get_or_create(username=f"officer{i:02d}")
        with connection.cursor() as cursor:
            # Each run prunes, so each run starts from a full log again.
            cursor.execute("TRUNCATE audit_flag")
            cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE audit_chainanchor DISABLE TRIGGER USER")
            cursor.execute("TRUNCATE audit_accessevent, audit_chainanchor CASCADE")
            cursor.execute("ALTER TABLE audit_accessevent ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE audit_chainanchor ENABLE TRIGGER USER")
        started = time.perf_counter()
        bulk_load(events, dict(model.objects.values_list("username", "id")), days=PRUNE_DAYS)
        print(f"prune log: loaded {events} events in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audit_accessevent")


def append_child(schema: str, stop_file: str, pause: float) -> None:
    """Run in a process of its own (as the web server's appends would): one entry every
    ``pause`` seconds until ``stop_file`` exists; prints "start latency_ms" per append."""
    setup_django()
    from django_tenants.utils import schema_context

    from audit.models import Action
    from audit.services import record_event

    with schema_context(schema):
        while not os.path.exists(stop_file):
            started = time.time()
            record_event(action=Action.LOGIN, username="bench-appender")
            print(f"{started:.6f} {(time.time() - started) * 1000:.3f}", flush=True)
            time.sleep(pause)


class Appender:
    """The appending process, and the phases the main process goes through meanwhile."""

    def __init__(self, schema: str, pause: float = 0.02) -> None:
        import tempfile

        self.schema = schema
        self.pause = pause
        self.folder = Path(tempfile.mkdtemp(prefix="bench-audit-"))
        self.stop_file = self.folder / "stop"
        self.phases: list[tuple[float, str]] = []
        self.samples: dict[str, list[float]] = {}

    def phase(self, name: str) -> None:
        self.phases.append((time.time(), name))

    def __enter__(self) -> Appender:
        self.output = (self.folder / "appends.txt").open("w")
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, __file__, "--append-child", self.schema, str(self.stop_file),
             str(self.pause)],
            cwd=ROOT,
            stdout=self.output,
        )  # fmt: skip
        time.sleep(3)  # Django set-up in the child
        self.phase("idle")
        return self

    def __exit__(self, *exc) -> None:
        self.stop_file.touch()
        self.process.wait(timeout=600)
        self.output.close()
        for line in (self.folder / "appends.txt").read_text().splitlines():
            started, latency = (float(x) for x in line.split())
            names = [name for at, name in self.phases if at <= started]
            if names:
                self.samples.setdefault(names[-1], []).append(latency)


def _latency(samples: list[float]) -> tuple[int, float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return len(ordered), statistics.median(ordered), p95, ordered[-1]


def measure_prune(events: int) -> dict:
    from django.db import transaction
    from django_tenants.utils import schema_context

    from audit import chain
    from audit.retention import prune_apply, prune_plan

    prepare_prune_log(events)
    from django.db import connection

    figures: dict = {"events": events, "database": connection.settings_dict["NAME"]}
    batch_seconds: list[float] = []
    with schema_context(PRUNE_SLUG), Appender(PRUNE_SLUG) as appender:
        time.sleep(5)
        appender.phase("lock held for a whole verification (before)")
        started = time.perf_counter()
        with transaction.atomic():
            chain.lock_chain()
            locked = chain.verify_chain()
        figures["locked_verify_s"] = time.perf_counter() - started
        assert locked.ok, locked.problem
        appender.phase("idle, between")
        time.sleep(3)
        appender.phase("prune: verification (no lock)")
        started = time.perf_counter()
        plan = prune_plan()
        figures["plan_s"] = time.perf_counter() - started
        assert not plan.refused, plan.refused
        appender.phase("prune: removing the verified prefix (lock per batch)")
        started = time.perf_counter()
        result = prune_apply(plan, on_batch=lambda _batch, seconds: batch_seconds.append(seconds))
        figures["apply_s"] = time.perf_counter() - started
        assert not result.refused, result.refused
        appender.phase("idle, after")
        time.sleep(3)
    figures["batch_ms"] = _latency([s * 1000 for s in batch_seconds])
    figures["removed"] = result.removed
    figures["batches"] = result.batches
    figures["latency"] = {phase: _latency(values) for phase, values in appender.samples.items()}
    with schema_context(PRUNE_SLUG):
        from audit.checkpoint import verify_log

        after = verify_log()
    assert after.ok, after.problem
    figures["checked_after"] = after.checked
    for phase, (count, median, p95, peak) in figures["latency"].items():
        print(f"{phase:55s} n={count:5d} median {median:6.1f} p95 {p95:7.1f} max {peak:8.1f} ms")
    print(
        f"prune: verification {figures['plan_s']:.1f} s, removal {figures['apply_s']:.1f} s "
        f"({result.removed} entries in {result.batches} batches)"
    )
    return figures


def write_prune_section(figures: dict) -> None:
    from audit.retention import PRUNE_BATCH_ROWS
    from tests.benchmarks.report import write_section

    order = [
        "idle",
        "lock held for a whole verification (before)",
        "idle, between",
        "prune: verification (no lock)",
        "prune: removing the verified prefix (lock per batch)",
        "idle, after",
    ]
    rows = "\n".join(
        f"| {phase} | {count:,} | {median:.1f} | {p95:.1f} | {peak:.1f} |"
        for phase in order
        if phase in figures["latency"]
        for count, median, p95, peak in [figures["latency"][phase]]
    )
    body = f"""
On a database of its own (`DATABASE_URL=postgres://postgres@127.0.0.1:5432/{figures["database"]}`).
A log of {figures["events"]:,} entries over {PRUNE_DAYS} days in its own agency (`{PRUNE_SLUG}`); the nightly prune removes the entries
older than the two-year retention: **{figures["removed"]:,} entries in {figures["batches"]}
batches** of at most {PRUNE_BATCH_ROWS:,}. Another process (as the web server would) appends
one entry every 20 ms throughout, each append its own transaction. Load average during the
run: {os.getloadavg()[0]:.1f} (other work shared the 2 cores).

| phase | appends | median ms | p95 ms | max ms |
| --- | ---: | ---: | ---: | ---: |
{rows}

The prune's verification (chain and checkpoints, one read-only snapshot, no chain lock) took
{figures["plan_s"]:.1f} s and the removal {figures["apply_s"]:.1f} s; appends went on
throughout, waiting at most for one batch: each batch held the chain lock for
{figures["batch_ms"][1]:.0f} ms (median; p95 {figures["batch_ms"][2]:.0f} ms, max
{figures["batch_ms"][3]:.0f} ms) to re-check, delete and anchor its entries. For comparison,
the second row holds the chain lock for a whole verification
({figures["locked_verify_s"]:.1f} s), as pruning used to: the append that arrives meanwhile
waits for the whole walk. Afterwards the log verifies ({figures["checked_after"]:,} entries).
"""
    write_section("audit-prune", "Access-log pruning while appends go on", body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--prune-events", type=int, default=1_000_000)
    parser.add_argument("--only-prune", action="store_true")
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--append-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child()
        return
    if args.append_child:
        schema, stop_file, pause = args.append_child
        append_child(schema, stop_file, float(pause))
        return
    ensure_database()
    setup_django()
    if args.only_prune:
        write_prune_section(measure_prune(args.prune_events))
        return
    started = time.perf_counter()
    prepare(args.events, args.reload)
    load_seconds = time.perf_counter() - started
    pages = measure_pages(args.runs)

    child = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--export-child"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    export = json.loads(child.stdout.strip().splitlines()[-1])
    rate = export["rows"] / export["seconds"]
    print(
        f"CSV export: {export['rows']} rows in {export['seconds']:.1f} s = {rate:,.0f} rows/s, "
        f"{export['bytes'] / 1e6:.0f} MB, peak RSS {export['peak_kb'] / 1024:.0f} MB"
    )
    checked, verify_seconds = measure_verify()
    print(f"verify: {checked} entries in {verify_seconds:.1f} s")

    from tests.benchmarks.report import write_section

    table = "\n".join(f"| {label} | {median:.1f} ms | {rows} |" for label, median, rows in pages)
    body = f"""
On a database of its own: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_audit`
(created if missing; the first run migrates it and loads the events, later runs reuse them,
`--reload` loads them again).

{args.events:,} events in one agency (schema `{SLUG}`), {USERS} users, over the last 365 days;
bulk-loaded with COPY and the hash chain computed in one Python loop
(about 2 minutes for the million on this machine; this run's set-up: {load_seconds:.0f} s).
Load average during the run: {os.getloadavg()[0]:.1f} (other work shared the 2 cores).

Auditor list page through the whole Django stack (test client, template rendered),
median of {args.runs} requests, 50 rows a page, keyset pagination:

| filter | median | rows on page |
| --- | ---: | ---: |
{table}

Target: filtered by user and date under 200 ms median.

CSV export of all {export["rows"]:,} rows (PostgreSQL `COPY ... TO STDOUT` streamed through a
`StreamingHttpResponse` in 64 KB blocks, text cells made inert in SQL), in a process of its own: **{rate:,.0f} rows/s** ({export["seconds"]:.1f} s, {export["bytes"] / 1e6:.0f} MB of CSV),
peak RSS of that process (Django included) **{export["peak_kb"] / 1024:.0f} MB**.
Targets: over 20,000 rows/s, under 200 MB.

Chain verification (`verify_audit_log`) walks {checked:,} entries in {verify_seconds:.1f} s
({checked / verify_seconds:,.0f} entries/s).
"""
    write_section("audit", "Access log (audit)", body)
    write_prune_section(measure_prune(args.prune_events))


if __name__ == "__main__":
    main()
