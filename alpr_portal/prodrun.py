"""The production stack on one machine: gunicorn, one Celery worker per queue, exactly one beat.

    python -m alpr_portal.prodrun serve            # run Procfile.production until SIGTERM/Ctrl-C
    python -m alpr_portal.prodrun check [OPTIONS]  # start it, smoke-test it, stop it

``serve`` runs with the environment it is given (``ALPR_ENV=production`` and everything the
settings require; README, "Configuration for production"). ``check`` (``make prod-check``)
fills in what is missing with throwaway values under ``var/prodcheck/`` (secret key, master
key, audit signing key, image, static and checkpoint folders), uses the configured PostgreSQL
server with a database of its own (``<name>_prodcheck``, unless ``--database-url``) and the
configured Redis with queues of its own, migrates, collects the static files, starts the stack,
runs ``manage.py prod_smoke`` against it and stops it. Exit status 0 only when the smoke test
passed and every process was still running at the end.

Imports no Django: the processes it starts do.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from alpr_portal import devenv

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile.production"
CHECK_DIR = ROOT / "var" / "prodcheck"
QUEUE_DEFAULTS = {
    "ALPR_OCR_QUEUE": "reading",
    "ALPR_PURGE_QUEUE": "purge",
    "ALPR_AUDIT_QUEUE": "audit",
}


def _say(message: str) -> None:
    print(f"[prodrun] {message}", flush=True)


def procfile(path: Path = PROCFILE) -> list[tuple[str, str]]:
    """The ``name: command`` lines of the production Procfile, in order."""
    entries = []
    for line in path.read_text().splitlines():
        match = re.match(r"^([a-z][a-z0-9_-]*):\s*(.+)$", line.strip())
        if match:
            entries.append((match.group(1), match.group(2)))
    return entries


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 25.0) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start_stack(
    env: dict[str, str], log_dir: Path, only: Collection[str] | None = None
) -> list[Process]:
    """Every Procfile line (or those named in ``only``) as its own process group and session
    (so a stop reaches its children)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    started = []
    for name, command in procfile():
        if only is not None and name not in only:
            continue
        log_path = log_dir / f"{name}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - the child writes it until it stops
        proc = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        started.append(Process(name, proc, log_path))
        _say(f"started {name} (pid {proc.pid}): {command}")
    return started


def stop_stack(processes: list[Process]) -> None:
    for process in reversed(processes):
        process.stop()
        _say(f"stopped {process.name} (exit {process.proc.returncode})")


def _production_env(env: dict[str, str]) -> dict[str, str]:
    env["ALPR_ENV"] = "production"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DJANGO_SETTINGS_MODULE"] = "alpr_portal.settings"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("PYTHONUNBUFFERED", "1")
    for name, value in QUEUE_DEFAULTS.items():
        env.setdefault(name, value)
    return env


def _metrics_dir(env: dict[str, str], default: Path) -> None:
    """One folder for the node's processes' metrics, emptied before they start."""
    folder = Path(env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default)))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def serve(argv: list[str]) -> int:
    env = _production_env(dict(os.environ))
    _metrics_dir(env, ROOT / "var" / "prodrun" / "metrics")
    processes = start_stack(env, ROOT / "var" / "prodrun")
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping and all(p.alive() for p in processes):
            time.sleep(1)
    finally:
        for process in processes:
            if not process.alive():
                _say(f"{process.name} exited ({process.proc.returncode}):\n{process.tail()}")
        stop_stack(processes)
    return 0 if stopping else 1


# --- check -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _secret_file(path: Path, make: bytes) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(make)
    return path


def _signing_key_pem() -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _check_database(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    configured = urlparse(devenv.database_url("alpr_portal"))
    url = configured._replace(path=configured.path.rstrip("/") + "_prodcheck").geturl()
    devenv._ensure_database(url)
    return url


def check_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment of a throwaway production stack (values already given are kept)."""
    env = dict(os.environ)
    folder = Path(args.dir)
    tag = uuid.uuid4().hex[:8]
    env["DATABASE_URL"] = _check_database(args)
    env["REDIS_URL"] = env.get("REDIS_URL") or devenv.redis_url()
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    env.setdefault("ALLOWED_HOSTS", ".localhost,localhost,127.0.0.1")
    if not (env.get("ALPR_MASTER_KEY") or env.get("ALPR_MASTER_KEY_FILE")):
        key = _secret_file(folder / "master.key", secrets.token_hex(32).encode())
        env["ALPR_MASTER_KEY_FILE"] = str(key)
    if not env.get("ALPR_AUDIT_SIGNING_KEY_FILE"):
        pem = folder / "audit-signing.pem"
        env["ALPR_AUDIT_SIGNING_KEY_FILE"] = str(_secret_file(pem, _signing_key_pem()))
    env.setdefault("ALPR_AUDIT_CHECKPOINT_DIR", str(folder / "audit-checkpoints"))
    env.setdefault("ALPR_STORAGE_DIR", str(folder / "images"))
    env.setdefault("ALPR_STATIC_ROOT", str(folder / "static"))
    env["ALPR_BEAT_SCHEDULE"] = str(folder / f"celerybeat-schedule-{tag}")
    env["ALPR_BIND"] = f"127.0.0.1:{args.port or _free_port()}"
    env.setdefault("WEB_CONCURRENCY", "2")
    env.setdefault("ALPR_OCR_THREADS", "1")
    # Queues of this run only: no message of another stack on the same Redis reaches it.
    for name, value in QUEUE_DEFAULTS.items():
        env[name] = f"{value}-check-{tag}"
    env["ALPR_AUDIT_PRUNE_QUEUE"] = f"audit-check-{tag}"
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder / f"metrics-{tag}")
    _metrics_dir(env, folder / f"metrics-{tag}")
    return _production_env(env)


def _manage(env: dict[str, str], *args: str) -> None:
    _say("manage.py " + " ".join(args))
    code = subprocess.call([sys.executable, "manage.py", *args], cwd=ROOT, env=env)  # noqa: S603
    if code != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed with exit code {code}")


def _wait_listening(bind: str, processes: list[Process], timeout: float) -> None:
    host, port = bind.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p for p in processes if not p.alive()]
        if dead:
            raise SystemExit(f"{dead[0].name} exited at start:\n{dead[0].tail()}")
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not listen on {bind} within {timeout} s")


def _beats(processes: list[Process]) -> int:
    return sum(1 for p in processes if p.name == "beat")


def check(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m alpr_portal.prodrun check")
    parser.add_argument("--database-url", help="default: <configured database>_prodcheck")
    parser.add_argument("--agency", default="prodcheck", help="slug of the smoke test's agency")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", default=str(CHECK_DIR), help="keys, images, static, logs")
    parser.add_argument("--no-migrate", action="store_true", help="the database is up to date")
    parser.add_argument("--read-timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    env = check_env(args)
    if not args.no_migrate:
        _manage(env, "migrate_schemas", "--shared", "--noinput", "-v", "0")
        _manage(env, "migrate_schemas", "--noinput", "-v", "0")
    _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    _manage(env, "collectstatic", "--noinput", "-v", "0")
    processes = start_stack(env, Path(args.dir) / "logs")
    if _beats(processes) != 1:
        stop_stack(processes)
        raise SystemExit("Procfile.production must start exactly one beat")
    code = 1
    try:
        _wait_listening(env["ALPR_BIND"], processes, timeout=60)
        smoke = [sys.executable, "manage.py", "prod_smoke", "--agency", args.agency]
        smoke += ["--base-url", f"http://{env['ALPR_BIND']}"]
        smoke += ["--read-timeout", str(args.read_timeout)]
        code = subprocess.call(smoke, cwd=ROOT, env=env)  # noqa: S603
        dead = [p.name for p in processes if not p.alive()]
        if dead:
            _say(f"died during the check: {', '.join(dead)}")
            code = code or 1
    finally:
        if code != 0:
            for process in processes:
                _say(f"--- {process.name} log (tail) ---\n{process.tail()}")
        stop_stack(processes)
    _say("prod-check passed" if code == 0 else f"prod-check FAILED (exit {code})")
    return code


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "check"}:
        print(__doc__)
        return 2
    return {"serve": serve, "check": check}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
