"""`make demo` on a laptop without PostgreSQL/Redis: the embedded servers carry the real migrations."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_postgres_and_redis_run_the_tenant_migrations():
    port = str(free_port())
    folder = tempfile.mkdtemp(prefix="alpr-embedded-", dir="/tmp")
    os.chmod(folder, 0o755)  # noqa: S103 - the embedded server runs as its own system user
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "ALPR_EMBEDDED": "1",
            "ALPR_EMBEDDED_DIR": folder,
            "ALPR_EMBEDDED_REDIS_PORT": port,
            "DJANGO_SETTINGS_MODULE": "alpr_portal.settings",
            "ALPR_ENV": "development",
        }
    )
    script = (
        "import os, subprocess, sys, redis;"
        "assert redis.Redis.from_url(os.environ['REDIS_URL']).ping();"
        "sys.exit(subprocess.call([sys.executable, 'manage.py', 'migrate_schemas', '--shared', '-v', '0']))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "alpr_portal.devenv", "run", "--", sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "embedded server" in result.stdout
    assert f"127.0.0.1:{port}" in result.stdout
