"""A newcomer's first minutes: `make demo` on an empty database, then each role's first page.

Starts ``python -m alpr_portal.devenv demo`` (what ``make demo`` runs once installed) on a fresh
database, waits for the sign-in banner, then in a real Chromium signs in as the officer, the
auditor, the administrator and the platform staff member (password from the sign-in file, code
from ``manage.py demo_code``) and opens each one's first page. Prints the seconds from the start
to the banner, to each page, and to the end of the seed's second part (the captures and reviewed
reads seeded beside the running portal). Run from the repository root::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_first_hour REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python tests/benchmarks/bench_first_hour.py --port 8018

The database named in DATABASE_URL is dropped and created again (never point it at real data).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
FIRST_PAGES = [
    ("officer", "demo", "/search/", "Plate search"),
    ("auditor", "demo", "/audit/", "Access log"),
    ("admin", "demo", "/admin/", "administration"),
    ("platform", "localhost", "/admin/", "platform administration"),
]


def _fresh_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.startswith("bench_"):
        raise SystemExit("use a database whose name starts with bench_ (it is dropped)")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _code(env: dict[str, str], user: str) -> str:
    out = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "demo_code", "--user", user],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def _sign_in_and_open(page, env, port, user, password, host, path, expect) -> None:
    base = f"http://{host}.localhost:{port}" if host != "localhost" else f"http://localhost:{port}"
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/login/code/**")
    page.fill("input[name=code]", _code(env, user))
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    page.goto(f"{base}{path}")
    if expect not in page.content():
        raise SystemExit(f"{user}: {path} does not show {expect!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", default="8018")
    args = parser.parse_args()
    env = dict(os.environ, PORT=args.port, ALPR_ENV="development")
    _fresh_database(env["DATABASE_URL"])
    start = time.monotonic()
    demo = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "alpr_portal.devenv", "demo"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    banner, seeded = threading.Event(), threading.Event()

    def watch() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            if "The demo is running" in line:
                banner.set()
            if "Demo captures and reviewed reads ready." in line:
                seeded.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        if not banner.wait(timeout=900):
            raise SystemExit("no sign-in banner within 15 minutes")
        at_banner = time.monotonic() - start
        text = (ROOT / "var" / "demo-sign-in.txt").read_text()
        passwords = dict(re.findall(r"^  (\w+)\s+(\S+Passw0rd!)", text, re.MULTILINE))
        from playwright.sync_api import sync_playwright

        times = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for user, host, path, expect in FIRST_PAGES:
                context = browser.new_context()
                page = context.new_page()
                _sign_in_and_open(page, env, args.port, user, passwords[user], host, path, expect)
                times.append((user, path, time.monotonic() - start))
                context.close()
            browser.close()
        # The rest of the seed (captures, reviewed reads, purge) goes on beside the portal.
        at_seeded = time.monotonic() - start if seeded.wait(timeout=600) else None
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
    print(f"banner (sign-in details) after {at_banner:.0f} s")
    for user, path, seconds in times:
        print(f"{user:<9} {path:<9} open after {seconds:.0f} s")
    if at_seeded is None:
        print("the rest of the seed did not finish within 10 minutes")
    else:
        print(
            f"rest of the seed (300 captures, reviewed reads, purge) done after {at_seeded:.0f} s"
        )


if __name__ == "__main__":
    main()
