"""`make demo` on a laptop without PostgreSQL/Redis: the embedded servers (started from Python
packages) carry the real migrations, the agency schema's extensions (pg_trgm) included, and
serve pages."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from alpr_portal import devenv
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]

# Run inside `devenv run`, with the embedded servers' DATABASE_URL and REDIS_URL: migrate,
# create an agency (its schema runs every tenant migration), then serve and fetch two pages.
SCRIPT = r"""
import os, subprocess, sys, time, urllib.request, redis
assert redis.Redis.from_url(os.environ["REDIS_URL"]).ping()
manage = [sys.executable, "manage.py"]
def run(*args):
    subprocess.run(manage + list(args), check=True)
run("migrate_schemas", "--shared", "--noinput", "-v", "0")
run("create_agency", "--slug", "embedded", "--name", "Embedded PD",
    "--domain", "embedded.localhost", "--admin-username", "chief",
    "--admin-email", "chief@example.org")
port = os.environ["ALPR_TEST_WEB_PORT"]
web = subprocess.Popen(manage + ["runserver", f"127.0.0.1:{port}", "--noreload"])
try:
    def fetch(host, path):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    for _ in range(120):
        try:
            status, body = fetch("embedded.localhost", "/policy/")
            break
        except OSError:
            time.sleep(0.25)
    print("POLICY", status, "Embedded PD" in body)
    from django_tenants.utils import schema_context
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")
    import django; django.setup()
    from django.db import connection
    with schema_context("embedded"), connection.cursor() as cursor:
        cursor.execute("SELECT similarity('7ABC123', '7ABC128') > 0")
        print("TRGM", cursor.fetchone()[0])
finally:
    web.terminate()
    web.wait(timeout=20)
"""


def test_embedded_postgres_and_redis_migrate_an_agency_and_serve_its_pages():
    port, web_port = str(free_port()), str(free_port())
    folder = tempfile.mkdtemp(prefix="alpr-embedded-", dir="/tmp")
    os.chmod(folder, 0o755)  # noqa: S103 - the embedded server runs as its own system user
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "ALPR_EMBEDDED": "1",
            "ALPR_EMBEDDED_DIR": folder,
            "ALPR_EMBEDDED_REDIS_PORT": port,
            "ALPR_TEST_WEB_PORT": web_port,
            "DJANGO_SETTINGS_MODULE": "alpr_portal.settings",
            "ALPR_ENV": "development",
            "ALPR_STORAGE_DIR": str(Path(folder) / "images"),
            "ALPR_AUDIT_CHECKPOINT_DIR": str(Path(folder) / "checkpoints"),
        }
    )
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "alpr_portal.devenv", "run", "--", sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    took = time.monotonic() - started
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert "PostgreSQL: started an embedded server" in result.stdout, output
    assert f"127.0.0.1:{port}" in result.stdout, output
    assert "POLICY 200 True" in result.stdout, output
    assert "TRGM True" in result.stdout, output
    print(f"embedded servers: migrated, created an agency and served a page in {took:.1f} s")


def test_the_suite_uses_its_own_redis_database(monkeypatch):
    """Tasks the tests leave in Redis never reach the demo's worker (another database number)."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(devenv, "_reachable", lambda host, port: True)
    monkeypatch.setattr(devenv, "FORCE_EMBEDDED", False)
    assert devenv.redis_url(devenv.TEST_REDIS_DB) == "redis://127.0.0.1:6379/1"
    assert devenv.redis_url() == "redis://127.0.0.1:6379/0"


def test_redis_url_from_the_environment_wins(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6379/9")
    assert devenv.redis_url(devenv.TEST_REDIS_DB) == "redis://example.invalid:6379/9"


@pytest.mark.parametrize("exists", [True, False])
def test_the_demo_banner_names_the_sign_in_file(tmp_path, exists):
    path = tmp_path / "demo-sign-in.txt"
    if exists:
        path.write_text("  officer    secret\n")
    banner = devenv.sign_in_banner(path)
    assert f"(kept in {path})" in banner
    assert ("officer    secret" in banner) is exists


def test_the_banner_comes_back_after_a_burst_of_worker_output(monkeypatch):
    monkeypatch.setattr(devenv, "_reachable", lambda host, port: True)
    relay = devenv._Relay(8000, "BANNER")
    assert not relay.due(relay.started + 1)  # the worker has not said it is ready
    relay.feed(["12:00:00 worker.1 | celery@host ready.\n"])
    assert relay.due(relay.last_line + 0.1)
    relay.shown, relay.lines_since = True, 0
    relay.feed([f"12:00:01 worker.1 | read capture {n}\n" for n in range(devenv.BURST_LINES)])
    assert not relay.due(relay.last_line + 0.1)  # still busy
    assert relay.due(relay.last_line + devenv.QUIET_SECONDS + 0.1)


# Under the demo's settings (what `make demo` starts: alpr_portal.settings, ALPR_ENV=development
# and devenv.demo_env's environment), against the test database's agency: an unknown address,
# a refused page and a static file, through the whole WSGI stack.
DEMO_PAGES = r"""
import django
django.setup()
from django.conf import settings
from django.db import transaction
from django.test import Client
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_user
from tests.support import verified_client
print("DEBUG", settings.DEBUG)
client = Client(HTTP_HOST="alpha.localhost")
missing = client.get("/no-such-page/")
print("404", missing.status_code, 'data-testid="error-404"' in missing.content.decode())
with transaction.atomic():  # the officer is rolled back: the test database stays as it was
    agency = Agency.objects.get(slug="alpha")
    officer = make_user(agency, roles=[Role.OFFICER])
    refused = verified_client(agency, officer).get("/audit/")
    print("403", refused.status_code, 'data-testid="error-403"' in refused.content.decode())
    transaction.set_rollback(True)
css = client.get("/static/css/portal.css")
print("CSS", css.status_code)
"""


def test_the_demo_shows_the_portals_own_error_pages_and_still_serves_static_files(
    django_db_setup,
):
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = devenv.demo_env(
        {
            k: v
            for k, v in os.environ.items()
            if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "ALPR_TEST_SERVER_DB"}
        }
    )
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "alpr_portal.settings",
            "ALPR_ENV": "development",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        }
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", DEMO_PAGES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert "DEBUG False" in result.stdout, output
    assert "404 404 True" in result.stdout, output
    assert "403 403 True" in result.stdout, output
    assert "CSS 200" in result.stdout, output


def test_debug_stays_on_when_asked_for():
    assert devenv.demo_env({"DEBUG": "1"})["DEBUG"] == "1"
    assert devenv.demo_env({})["DEBUG"] == "0"
