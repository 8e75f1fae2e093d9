"""Camera ingest and mixed load through the production stack's gunicorn (``ALPR_ENV=production``).

1. ingest: 16 concurrent cameras (one keep-alive connection each, as fast as answers come),
   each capture a plate crop (JPEG) and a 1280x720 vehicle photo (JPEG with EXIF: camera and
   GPS position) from ``/work/shared/datasets/openalpr-us-dev`` and the camera's own read
   (plate, state, confidence: matched against the hotlists), for ``--seconds``; then the same requests
   against a bare endpoint of the same gunicorn (``bare_wsgi.py``: reads the body, answers
   201, no Django) for ``--bare-seconds``; the ratio is portal / bare.
2. mixed: ``--officers`` signed-in officers searching (one search each, back to back) while
   cameras send ``--rate`` captures per second, for ``--seconds``; search page p95.

For each run: the machine's CPU busy time per request (``/proc/stat``: server, PostgreSQL and
load generator together) and the load generator's own share. Where one ingest's time goes:
``profile_ingest.py``.

The stack is ``alpr_portal.prodrun``'s: a throwaway production environment on the configured
PostgreSQL server (database ``<name>_prodcheck``) and Redis. Reading tasks go to a queue no
worker consumes (purged at the end): this measures the web side. The load generator runs on
the same machine and takes CPU from the server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_ingest \\
    flock -x /work/wt/cpu.lock python tests/benchmarks/bench_prod_ingest.py \\
        [--seconds 120] [--bare-seconds 30] [--officers 20] [--rate 50] [--workers 3] \\
        [--threads 4] [--skip-mixed] [--no-write]

(``DATABASE_URL`` names the server and a database of the benchmark's own: the stack uses
``<name>_prodcheck``.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HOST = "bench-prod.localhost"
IDLE_REOPEN = 4.0  # seconds: below gunicorn's keepalive


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))] if ordered else 0.0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0
    cpu_busy: float = 0.0  # seconds of busy CPU on the whole machine during the run
    cpu_loadgen: float = 0.0  # of which this process (the load generator)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def summary(self) -> dict[str, float]:
        seconds = max(self.ended - self.started, 1e-9)
        return {
            "requests": len(self.latencies),
            "per_second": len(self.latencies) / seconds,
            "p50_ms": 1000 * statistics.median(self.latencies) if self.latencies else 0.0,
            "p95_ms": 1000 * pct(self.latencies, 0.95),
            "errors": sum(self.errors.values()),
            "cpu_ms": 1000 * self.cpu_busy / max(len(self.latencies), 1),
            "loadgen_ms": 1000 * self.cpu_loadgen / max(len(self.latencies), 1),
            "cpu_use": self.cpu_busy / seconds,
        }


def cpu_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measured(run):
    """Run ``run`` (returns a Tally) and put the machine's and this process's CPU on it."""
    busy, own = cpu_busy_seconds(), time.process_time()
    tally = run()
    tally.cpu_busy = cpu_busy_seconds() - busy
    tally.cpu_loadgen = time.process_time() - own
    return tally


class Connection:
    """One keep-alive HTTP/1.1 connection to gunicorn (no client library: asyncio streams)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def request(self, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send one request; a reused keep-alive connection that the server closed before
        answering (idle timeout, a worker recycled after ``max_requests``) is opened again
        and the request sent once more, as browsers and HTTP client pools do."""
        reused = self.writer is not None
        try:
            return await self._request(head, body)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            if not reused or getattr(exc, "answered", False):
                raise
            self.writer = None
            return await self._request(head, body)

    async def _request(self, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is not None and time.monotonic() - self.used > IDLE_REOPEN:
            self.writer.close()  # gunicorn closes idle keep-alives after 5 s, as browsers know
            self.writer = None
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            self.writer = None
            raise ConnectionError("closed")  # before any byte of an answer
        try:
            return await self._rest(status_line)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            exc.answered = True  # type: ignore[union-attr]  # part of an answer came: no retry
            raise

    async def _rest(self, status_line: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self.reader is not None
        assert self.writer is not None
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        payload = await self.reader.readexactly(int(headers.get("content-length", "0")))
        self.used = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.writer = None
        return int(status_line.split()[1]), headers, payload


def http_head(method: str, path: str, host: str, length: int, extra: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "X-Forwarded-Proto: https"]
    lines += [f"Content-Length: {length}", *(f"{k}: {v}" for k, v in extra.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def capture_body(plate: bytes, vehicle: bytes | None, text: str) -> tuple[bytes, str]:
    from django.utils import timezone

    from alpr_portal.prodcheck import multipart

    files = {"plate_image": ("plate.jpg", plate, "image/jpeg")}
    if vehicle is not None:  # a camera may send the crop alone
        files["vehicle_image"] = ("vehicle.jpg", vehicle, "image/jpeg")
    return multipart(
        {
            "captured_at": timezone.now().isoformat(),
            "capture_id": str(uuid.uuid4()),
            "plate": text,
            "state": "OR",
            "confidence": "0.91",
        },
        files,
    )


async def camera_loop(conn, key, images, path, tally, deadline, pace=None, budget=None):
    """One camera posting until ``deadline``, or until ``budget`` (a one-item list shared by
    the cameras: captures left to send) is spent."""
    rng = random.Random(key)
    next_at = time.monotonic()
    while time.monotonic() < deadline:
        if budget is not None:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        if pace:
            next_at += pace
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        plate, vehicle = rng.choice(images)
        body, ctype = capture_body(plate, vehicle, f"{rng.randrange(10**6):06d}AB")
        head = http_head(
            "POST", path, HOST, len(body), {"Authorization": f"Bearer {key}", "Content-Type": ctype}
        )
        t0 = time.perf_counter()
        try:
            status, _h, _b = await conn.request(head, body)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            tally.error(type(exc).__name__)
            conn.writer = None
            continue
        tally.latencies.append(time.perf_counter() - t0)
        if status != 201:
            tally.error(str(status))


async def run_cameras(port, keys, images, path, seconds, *, rate=None, total=None) -> Tally:
    """The cameras posting for ``seconds`` (at ``rate`` per second in all, or as fast as
    answers come), or until ``total`` captures were sent."""
    tally = Tally()
    tally.started = time.monotonic()
    deadline = tally.started + seconds
    pace = len(keys) / rate if rate else None
    budget = [total] if total is not None else None
    conns = [Connection("127.0.0.1", port) for _ in keys]
    await asyncio.gather(
        *(
            camera_loop(c, k, images, path, tally, deadline, pace, budget)
            for c, k in zip(conns, keys, strict=True)
        )
    )
    tally.ended = time.monotonic()
    return tally


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def officer_loop(conn, officer, form, tally, deadline, think=0.0, stop=None):
    """One officer searching until ``deadline`` or until ``stop`` (an asyncio.Event) is set."""
    from urllib.parse import urlencode

    cookies, token = officer
    rng = random.Random(token)

    def going() -> bool:
        return time.monotonic() < deadline and not (stop is not None and stop.is_set())

    await asyncio.sleep(rng.uniform(0, think))  # officers do not all start in step
    while going():
        if tally.latencies and think:
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))  # reading the results
            if not going():
                break
        body = urlencode({**form, "csrfmiddlewaretoken": token}).encode()
        head = http_head(
            "POST",
            "/search/",
            HOST,
            len(body),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": _cookie_header(cookies),
                "Origin": f"https://{HOST}",
                "Referer": f"https://{HOST}/search/",
            },
        )
        t0 = time.perf_counter()
        try:
            status, headers, _b = await conn.request(head, body)
            if status == 302:  # the search is logged, then shown at its own address
                page = http_head(
                    "GET",
                    headers.get("location", "/"),
                    HOST,
                    0,
                    {"Cookie": _cookie_header(cookies)},
                )
                status, _h, _b = await conn.request(page, b"")
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            tally.error(type(exc).__name__)
            conn.writer = None
            continue
        tally.latencies.append(time.perf_counter() - t0)
        if status != 200:
            tally.error(str(status))


async def run_officers(port, officers, form, seconds, think=0.0, stop=None) -> Tally:
    """The signed-in officers searching for ``seconds`` or until ``stop`` is set."""
    searches = Tally()
    searches.started = time.monotonic()
    deadline = searches.started + seconds
    conns = [Connection("127.0.0.1", port) for _ in officers]
    await asyncio.gather(
        *(
            officer_loop(c, o, form, searches, deadline, think, stop)
            for c, o in zip(conns, officers, strict=True)
        )
    )
    searches.ended = time.monotonic()
    return searches


async def run_mixed(port, keys, images, officers, form, seconds, rate, think=0.0):
    cameras_task = asyncio.create_task(
        run_cameras(port, keys, images, "/api/v1/captures/", seconds, rate=rate)
    )
    searches = await run_officers(port, officers, form, seconds, think)
    return searches, await cameras_task


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def prepare(n_cameras: int, n_officers: int, base_url: str):
    """Cameras, officers signed in through the real pages, sample images; in agency bench-prod."""
    from django_tenants.utils import schema_context

    from alpr_portal import prodcheck
    from captures.ingest.services import camera_create
    from tenants.models import Agency
    from tenants.services import agency_create
    from tests.benchmarks.profile_ingest import sample_images

    agency = Agency.objects.filter(slug="bench-prod").first() or (
        agency_create(slug="bench-prod", name="Benchmark (prod)", domain=HOST).agency
    )
    tag = uuid.uuid4().hex[:6]
    keys, officers = [], []
    with schema_context(agency.schema_name):
        for i in range(n_cameras):
            keys.append(
                camera_create(name=f"bench-{tag}-{i}", latitude="45.5", longitude="-122.6").api_key
            )
    fixtures = []
    with schema_context(agency.schema_name):
        for i in range(n_officers):
            user, password, secret = prodcheck.trained_officer(
                username=f"bench-{tag}-o{i}", source="benchmark"
            )
            fixtures.append((user.username, password, secret))
        from captures.models import AuthorizedPurpose

        purpose = AuthorizedPurpose.objects.filter(active=True).order_by("pk").first().pk
    for username, password, secret in fixtures:
        browser = prodcheck.Browser(base_url, HOST)
        fixture = prodcheck.Fixture(agency, HOST, "", username, password, secret, purpose)
        prodcheck.sign_in(browser, fixture)
        token = browser.csrf_token("/search/")
        officers.append((dict(browser.cookies), token))
    return agency, keys, officers, sample_images(8), purpose


def settle(agency) -> int:
    """Before the mixed run: the ingested captures read (plate = the camera's read, as the
    reading worker would store it; this benchmark runs no worker) and the table analysed, as
    in a deployment whose statistics are settled. Returns the captures marked read."""
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from captures.models import Capture
    from captures.reading.matching import match_key

    with schema_context(agency.schema_name):
        rows = list(
            Capture.objects.filter(plate="").exclude(edge_plate="").only("pk", "edge_plate")
        )
        now = timezone.now()
        for row in rows:
            row.plate, row.state, row.match_key = row.edge_plate, "OR", match_key(row.edge_plate)
            row.status, row.read_at = Capture.Status.READ, now
        Capture.objects.bulk_update(
            rows, ["plate", "state", "match_key", "status", "read_at"], batch_size=2000
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE captures_capture")
    return len(rows)


def search_form(agency, purpose) -> dict[str, str]:
    import datetime

    from django.utils import timezone

    now = timezone.now().astimezone(agency.tz)
    return {
        "plate": "1234*",  # the cameras read NNNNNNAB: one plate in 100 matches
        "state": "",
        "include_unconfirmed": "on",
        "purpose": str(purpose),
        "start": (now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        "case_number": "2026-000777",
        "purpose_text": "Benchmark of the search page under load",
    }


def fmt(row: dict[str, float], *, cpu: bool = True) -> str:
    text = (
        f"{row['requests']:.0f} requests, **{row['per_second']:.1f}/s**, p50 {row['p50_ms']:.0f} "
        f"ms, **p95 {row['p95_ms']:.0f} ms**, errors {row['errors']:.0f} | "
    )
    if not cpu:
        return text + "(the same minutes as the searches)"
    return text + (
        f"{row['cpu_use']:.2f} of 2 cores busy, {row['cpu_ms']:.1f} ms CPU per request "
        f"(load generator {row['loadgen_ms']:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--bare-seconds", type=int, default=30)
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--officers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--workers", type=int, help="default: the production default")
    parser.add_argument("--threads", type=int, help="default: the production default")
    parser.add_argument("--skip-mixed", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true", help="only the mixed run")
    parser.add_argument(
        "--think",
        type=float,
        nargs="+",
        default=[0.0],
        help="seconds an officer reads the results before the next search (0: back to back); "
        "one mixed run per value",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()

    from alpr_portal import prodrun

    ns = argparse.Namespace(database_url=None, port=0, dir=str(prodrun.CHECK_DIR))
    env = prodrun.check_env(ns)
    env["ALPR_CAMERA_RATE"] = "off"  # the benchmark is about the server, not the limiter
    env.pop("WEB_CONCURRENCY", None)  # check_env's 2 is for the smoke test: the real default
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        env["ALPR_WEB_THREADS"] = str(args.threads)
    subprocess.check_call(
        [sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    subprocess.check_call(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env
    )
    port = int(env["ALPR_BIND"].rsplit(":", 1)[1])
    log = open(ROOT / "var" / "bench-gunicorn.log", "wb")  # noqa: SIM115
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.benchmarks.bare_wsgi",
            "--config",
            "python:alpr_portal.gunicorn_conf",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env={**env, "ALPR_WEB_ACCESS_LOG": "/dev/null"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        prodrun._wait_listening(env["ALPR_BIND"], [], timeout=60)
        setup_django(env)
        from alpr_portal import gunicorn_conf

        agency, keys, officers, images, purpose = prepare(
            args.cameras, args.officers, f"http://127.0.0.1:{port}"
        )
        path = "/api/v1/captures/"
        asyncio.run(run_cameras(port, keys, images, path, 5))  # warm up
        print(f"[bench] load before {load_before}", flush=True)
        ingest = bare = Tally()
        if not args.skip_ingest:
            ingest = measured(
                lambda: asyncio.run(run_cameras(port, keys, images, path, args.seconds))
            )
            print(f"[bench] ingest: {fmt(ingest.summary())}", flush=True)
            bare = measured(
                lambda: asyncio.run(run_cameras(port, keys, images, "/__bare__", args.bare_seconds))
            )
            print(f"[bench] bare: {fmt(bare.summary())}", flush=True)
        mixed_runs: list[tuple[float, Tally, Tally]] = []
        if not args.skip_mixed:
            marked = settle(agency)
            print(f"[bench] {marked} captures marked read, table analysed", flush=True)
            form = search_form(agency, purpose)
            for think in args.think:
                box: dict[str, Tally] = {}

                def mixed(think: float = think, box: dict[str, Tally] = box) -> Tally:
                    box["s"], box["c"] = asyncio.run(
                        run_mixed(
                            port, keys, images, officers, form, args.seconds, args.rate, think
                        )
                    )
                    return box["s"]

                searches = measured(mixed)
                mixed_runs.append((think, searches, box["c"]))
                print(f"[bench] think {think}: searches: {fmt(searches.summary())}", flush=True)
                print(f"[bench] think {think}: captures: {fmt(box['c'].summary())}", flush=True)
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)
    _cleanup(env)
    load_after = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    i, b = ingest.summary(), bare.summary()
    plate, vehicle = images[0]
    body = f"""
Production stack: gunicorn `{gunicorn_conf.worker_class}`, {gunicorn_conf.workers} workers x
{gunicorn_conf.threads} threads, `ALPR_ENV=production`, local encrypted image store (fsync per
file), PostgreSQL 15 on the same machine; the load generator (asyncio, one keep-alive
connection per camera or officer) on the same 2 cores. Load average before the run:
{load_before[0]:.2f}, {load_before[1]:.2f}, {load_before[2]:.2f}; after: {{load_after}} (run
under `flock -x /work/wt/cpu.lock`: no test run of the other worktrees at the same time, but
jobs that take no lock may have run, and their CPU counts in the CPU column). Each
capture: a {len(plate) // 1024} KB plate crop and a {len(vehicle) // 1024} KB 1280x720 vehicle
photo with EXIF and a GPS position (stripped before storing), the camera's read (plate, state,
confidence; matched against the hotlists), a new `capture_id`. CPU per request: busy time of
the whole machine (server, PostgreSQL, load generator) over the requests served.

| run | figures | CPU |
| --- | --- | --- |
"""
    if not args.skip_ingest:
        ratio = i["per_second"] / max(b["per_second"], 1e-9)
        body += f"""| ingest, {args.cameras} cameras, {args.seconds} s | {fmt(i)} |
| bare endpoint of the same gunicorn, same requests, {args.bare_seconds} s | {fmt(b)} |
| ratio portal / bare (captures per second) | {ratio:.3f} ({i["per_second"]:.1f} / {b["per_second"]:.1f}) | |
"""
    for think, searches, cameras in mixed_runs:
        pace = (
            f"each reading the results {think:g} s (0.5-1.5x) between searches"
            if think
            else "back to back, no pause"
        )
        body += (
            f"| mixed: {args.officers} officers searching (POST, then the results page it "
            f"redirects to; {pace}), {args.seconds} s | searches: {fmt(searches.summary())} |\n"
            f"| mixed: cameras at {args.rate:.0f}/s offered, same {args.seconds} s | captures: "
            f"{fmt(cameras.summary(), cpu=False)} |\n"
        )
    errors = [f"ingest {ingest.errors or 'none'}", f"bare {bare.errors or 'none'}"]
    for think, searches, cameras in mixed_runs:
        errors.append(f"searches ({think:g} s) {searches.errors or 'none'}")
        errors.append(f"captures ({think:g} s) {cameras.errors or 'none'}")
    body += f"\nErrors by kind: {', '.join(errors)}.\n"
    body = body.replace("{load_after}", load_after)
    print(body)
    if not args.no_write:
        from tests.benchmarks.report import write_section

        write_section(
            "prod-ingest", "Ingest and mixed load through gunicorn (production stack)", body
        )


def _cleanup(env: dict[str, str]) -> None:
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    client.delete(env["ALPR_OCR_QUEUE"])


if __name__ == "__main__":
    main()
