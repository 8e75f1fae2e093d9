"""A backlog of captures drains while officers search: does the search page slow down?

The production stack of ``alpr_portal.prodrun`` (Procfile.production's lines, the real
``alpr_portal.wsgi`` gunicorn, ``ALPR_ENV=production``, a throwaway environment on the
configured PostgreSQL server, database ``<name>_prodcheck``, and Redis), started without its
``reading`` line:

1. history: ``--history`` captures posted by 16 cameras and marked read (as
   ``bench_prod_ingest.settle`` does), so the officers' search has results; their reading
   messages are dropped;
2. the backlog: ``--backlog`` captures posted through the camera API, each a JPEG plate crop
   of ``/work/shared/datasets/openalpr-us-dev/plates`` (cycled) and no vehicle photo; their
   reading tasks wait in the reading queue, which nothing consumes yet;
3. baseline: ``--officers`` signed-in officers search (each reading the results ``--think`` s,
   0.5-1.5x, between searches) for ``--baseline-seconds``, with no drain running;
4. the drain: the ``reading`` line of Procfile.production is started as prodrun starts it
   (same command, same environment, its own session) while the officers go on searching,
   until no capture of the agency is pending any more (the database is polled every 2 s) or
   ``--timeout`` passes.

Reported: drain time (worker start to the last reading) and crops per second, search p50/p95
in both phases, errors, the machine's CPU use and the reading worker's share, and
each capture's final status (every one read or unread: no task lost). ``--reading-nice``
sets ``ALPR_READING_NICE`` for the reading worker (unset: the product's default).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_backlog \\
    REDIS_URL=redis://127.0.0.1:6379/11 \\
    flock -x /work/wt/cpu.lock .venv/bin/python tests/benchmarks/bench_backlog.py \\
        [--backlog 10000] [--history 3000] [--officers 20] [--think 5] \\
        [--baseline-seconds 60] [--timeout 3600] [--reading-nice N] [--label TEXT] [--no-write]

(``DATABASE_URL`` names the server and a database of the benchmark's own: the stack uses
``<name>_prodcheck``. The agency's captures are emptied at the start of each run.)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks import bench_prod_ingest as prod  # noqa: E402
from tests.benchmarks.common import ensure_database, load_note  # noqa: E402

DATASET = Path("/work/shared/datasets/openalpr-us-dev")
POLL_SECONDS = 2.0


def plate_crops() -> list[tuple[bytes, None]]:
    """Every plate crop of the dataset as a JPEG, with no vehicle photo."""
    from PIL import Image

    crops = []
    for path in sorted(DATASET.glob("plates/*.png")):
        buffer = io.BytesIO()
        Image.open(path).convert("RGB").save(buffer, format="JPEG", quality=90)
        crops.append((buffer.getvalue(), None))
    if not crops:
        sys.exit(f"no plate crops in {DATASET / 'plates'}")
    return crops


def session_cpu_seconds(session: int) -> float:
    """CPU seconds (user + system, all threads) of the live processes of one session."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # fields after the name: state, ppid, pgrp, session...
            total += int(fields[11]) + int(fields[12])
    return total / tick


def status_counts(database_url: str, schema: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            f'SELECT status, count(*) FROM "{schema}".captures_capture GROUP BY status'  # noqa: S608
        ).fetchall()
    return {status: count for status, count in rows}


def empty_agency(database_url: str, schema: str) -> None:
    """A fresh start: the agency's captures (and what hangs on them) gone."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'TRUNCATE "{schema}".captures_capture CASCADE')


def queue_length(env: dict[str, str]) -> int:
    import redis

    return int(redis.Redis.from_url(env["REDIS_URL"]).llen(env["ALPR_OCR_QUEUE"]))


def drop_queue(env: dict[str, str]) -> None:
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).delete(env["ALPR_OCR_QUEUE"])


async def drain(port, officers, form, think, database_url, schema, timeout, timeline):
    """Officers search while polling the database; stop when nothing is pending."""
    stop = asyncio.Event()

    async def poll() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = await asyncio.to_thread(status_counts, database_url, schema)
            timeline.append((time.monotonic(), counts))
            if not counts.get("pending"):
                break
            await asyncio.sleep(POLL_SECONDS)
        stop.set()

    poller = asyncio.create_task(poll())
    searches = await prod.run_officers(port, officers, form, timeout + 60, think, stop)
    await poller
    return searches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backlog", type=int, default=10000)
    parser.add_argument("--history", type=int, default=3000)
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--officers", type=int, default=20)
    parser.add_argument("--think", type=float, default=5.0)
    parser.add_argument("--baseline-seconds", type=int, default=60)
    parser.add_argument("--timeout", type=int, default=3600, help="longest drain, in seconds")
    parser.add_argument("--reading-nice", help="ALPR_READING_NICE for the reading worker")
    parser.add_argument("--label", default="", help="names the run in the section's table")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    # Stopped with SIGTERM (kill, a timeout): unwind, so that the stack is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ensure_database()
    load_before = os.getloadavg()

    from alpr_portal import prodrun

    ns = argparse.Namespace(database_url=None, port=0, dir=str(prodrun.CHECK_DIR))
    env = prodrun.check_env(ns)
    env["ALPR_CAMERA_RATE"] = "off"  # 16 cameras post the backlog as fast as they are answered
    env.pop("WEB_CONCURRENCY", None)  # check_env's values are the smoke test's: the defaults
    env.pop("ALPR_OCR_THREADS", None)
    if args.reading_nice is not None:
        env["ALPR_READING_NICE"] = args.reading_nice
    for command in (["migrate_schemas", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.check_call(
            [sys.executable, "manage.py", *command, "-v", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    log_dir = ROOT / "var" / "bench-backlog"
    stack = prodrun.start_stack(env, log_dir, only={"web", "purge", "audit", "beat"})
    reading: list[prodrun.Process] = []
    port = int(env["ALPR_BIND"].rsplit(":", 1)[1])
    database_url = env["DATABASE_URL"]
    timeline: list[tuple[float, dict[str, int]]] = []
    try:
        prodrun._wait_listening(env["ALPR_BIND"], stack, timeout=60)
        prod.setup_django(env)
        from tests.benchmarks.profile_ingest import sample_images

        base = f"http://127.0.0.1:{port}"
        agency, keys, officers, _images, purpose = prod.prepare(args.cameras, args.officers, base)
        schema = agency.schema_name
        empty_agency(database_url, schema)
        drop_queue(env)
        path = "/api/v1/captures/"
        history = asyncio.run(
            prod.run_cameras(port, keys, sample_images(8), path, 3600, total=args.history)
        )
        marked = prod.settle(agency)
        drop_queue(env)
        print(f"[bench] history: {prod.fmt(history.summary())}; {marked} marked read", flush=True)
        crops = plate_crops()
        posting = prod.measured(
            lambda: asyncio.run(prod.run_cameras(port, keys, crops, path, 3600, total=args.backlog))
        )
        queued = queue_length(env)
        print(f"[bench] backlog: {prod.fmt(posting.summary())}; {queued} queued", flush=True)
        form = prod.search_form(agency, purpose)
        print(f"[bench] load before the baseline {os.getloadavg()}", flush=True)
        baseline = prod.measured(
            lambda: asyncio.run(
                prod.run_officers(port, officers, form, args.baseline_seconds, args.think)
            )
        )
        print(f"[bench] baseline searches: {prod.fmt(baseline.summary())}", flush=True)
        reading = prodrun.start_stack(env, log_dir, only={"reading"})
        worker_started = time.monotonic()
        box = {}

        def during() -> prod.Tally:
            box["t"] = asyncio.run(
                drain(
                    port, officers, form, args.think, database_url, schema, args.timeout, timeline
                )
            )
            box["reading"] = session_cpu_seconds(reading[0].proc.pid)
            return box["t"]

        searches = prod.measured(during)
        niceness = _niceness(reading[0].proc.pid)
        print(f"[bench] drain searches: {prod.fmt(searches.summary())}", flush=True)
    finally:
        prodrun.stop_stack(reading + stack)
        drop_queue(env)
    load_after = os.getloadavg()
    body = report(
        args,
        load=(load_before, load_after),
        marked=marked,
        posting=posting,
        queued=queued,
        baseline=baseline,
        searches=searches,
        timeline=timeline,
        worker_started=worker_started,
        cpu=box,
        niceness=niceness,
    )
    print(body)
    if not args.no_write:
        from tests.benchmarks.report import write_section

        name = "backlog" + (f"-{args.label}" if args.label else "")
        title = "A backlog of captures drains while officers search"
        write_section(name, title + (f" ({args.label})" if args.label else ""), body)


def report(
    args,
    *,
    load,
    marked,
    posting,
    queued,
    baseline,
    searches,
    timeline,
    worker_started,
    cpu,
    niceness,
) -> str:
    from alpr_portal import gunicorn_conf

    final = timeline[-1][1] if timeline else {}
    done_at = timeline[-1][0] if timeline else worker_started
    reading_at = next(
        (t for t, counts in timeline if counts.get("pending", 0) < args.backlog), done_at
    )
    drained = not final.get("pending")
    seconds = done_at - worker_started
    read = sum(v for k, v in final.items() if k != "pending") - marked
    b, d = baseline.summary(), searches.summary()
    during = max(searches.ended - searches.started, 1e-9)
    verdict = "under" if d["p95_ms"] < 300 else "**over**"
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(final.items()))
    nice = os.environ.get("ALPR_READING_NICE") if args.reading_nice is None else args.reading_nice
    return f"""
Production stack (`alpr_portal.prodrun`'s throwaway environment, `ALPR_ENV=production`):
gunicorn `alpr_portal.wsgi`, {gunicorn_conf.workers} workers x {gunicorn_conf.threads} threads;
the purge and audit workers and beat; PostgreSQL and Redis on the same machine, the load
generator too (one asyncio process). The backlog: {args.backlog} captures posted by
{args.cameras} cameras through the camera API, each a JPEG plate crop of the dataset's
`plates/` (cycled) and no vehicle photo; {queued} messages were then waiting in the reading
queue. Earlier history: {marked} captures marked read. Searches: {args.officers} signed-in
officers, each POSTing the search form (`1234*`, unconfirmed included, a purpose) and getting
the results page it redirects to, reading the results {args.think:g} s (0.5-1.5x) between
searches. Then the `reading` line of Procfile.production started (`--pool=threads
--concurrency=8`, ONNX Runtime, `ALPR_OCR_THREADS` default; `ALPR_READING_NICE`
{nice if nice is not None else "unset: the default"}; its threads ran at nice {niceness}).
Load average (1, 5, 15 minutes): {", ".join(f"{v:.2f}" for v in load[0])} before,
{", ".join(f"{v:.2f}" for v in load[1])} after; {load_note(load[0][0], load[1][0])}

| phase | figures | CPU |
| --- | --- | --- |
| posting the backlog | {prod.fmt(posting.summary())} |
| searches, no drain ({args.baseline_seconds} s) | {prod.fmt(b)} |
| searches while the backlog drains | {prod.fmt(d)} |
| the drain | {"all drained" if drained else "**not drained**"} in **{seconds:.0f} s** from the worker's start (first reading after {reading_at - worker_started:.0f} s): **{read / max(seconds, 1e-9):.1f} crops/s** ({read / max(done_at - reading_at, 1e-9):.1f}/s once reading) | |
| CPU during the drain | machine {searches.cpu_busy / during:.2f} of {os.cpu_count()} cores; reading worker {cpu.get("reading", 0) / during:.2f} | |
| captures at the end | {statuses} | |

Search p95 while draining: {d["p95_ms"]:.0f} ms against {b["p95_ms"]:.0f} ms with no drain,
{verdict} the 300 ms target. Errors: posting {posting.errors or "none"}, baseline
{baseline.errors or "none"}, drain {searches.errors or "none"}.
"""


def _niceness(pid: int) -> str:
    """The nice values of a process's threads, e.g. ``10 (14 threads)``."""
    values = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        values.append(int(stat.read_text().rsplit(")", 1)[1].split()[16]))
    group = Path(f"/proc/{pid}/autogroup")
    autogroup = group.read_text().split()[-1] if group.exists() else "-"
    threads = ", ".join(f"{v} ({values.count(v)} threads)" for v in sorted(set(values)))
    return f"{threads}, its session's autogroup at nice {autogroup}"


if __name__ == "__main__":
    main()
