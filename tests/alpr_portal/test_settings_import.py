"""Importing the settings has no side effects; the development key is made on first use."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tenants import keyring

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: record every filesystem write (audit hooks see them all),
# then import the settings module as Django would.
_WATCH = r"""
import json, os, sys
writes = []
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        ):
            writes.append(f"open {path} {mode} {flags}")
    elif event in {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.chmod", "os.link",
                   "os.symlink", "os.truncate", "os.utime", "shutil.copyfile", "shutil.rmtree"}:
        writes.append(f"{event} {args[0]}")
sys.addaudithook(hook)
import alpr_portal.settings as s
print(json.dumps({"writes": writes, "master_key_is_none": s.ALPR_MASTER_KEY is None}))
"""


def _development_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPR_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        {
            "ALPR_ENV": "development",
            "PYTHONDONTWRITEBYTECODE": "1",
            "ALPR_STATIC_ROOT": str(tmp_path / "static"),
            "ALPR_DEV_MASTER_KEY_FILE": str(tmp_path / "var" / "dev-master.key"),
        }
    )
    return env


def test_importing_settings_writes_nothing(tmp_path):
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _WATCH],
        cwd=ROOT,
        env=_development_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["writes"] == []
    assert report["master_key_is_none"] is True  # no key given: made later, on first use
    assert list(tmp_path.iterdir()) == []


def test_a_malformed_old_master_key_fails_at_start(tmp_path):
    env = _development_env(tmp_path)
    env["ALPR_OLD_MASTER_KEY"] = "not-a-key"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import alpr_portal.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ConfigError: ALPR_OLD_MASTER_KEY must be 32 bytes" in result.stderr


@pytest.fixture
def no_master_key(settings, tmp_path):
    settings.ALPR_MASTER_KEY = None
    settings.ALPR_DEV_MASTER_KEY_FILE = tmp_path / "var" / "dev-master.key"
    keyring.core._development_key.cache_clear()
    yield settings.ALPR_DEV_MASTER_KEY_FILE
    keyring.core._development_key.cache_clear()


def test_development_key_file_is_made_on_first_use_only_readable_by_its_owner(
    settings, no_master_key
):
    settings.ALPR_ENV = "development"
    assert not no_master_key.exists()
    key = keyring.master_key()
    assert no_master_key.exists()
    assert stat.S_IMODE(no_master_key.stat().st_mode) == 0o600
    assert keyring.parse_key(no_master_key.read_text()) == key
    # Another process (no cache) reads the same key back.
    keyring.core._development_key.cache_clear()
    assert keyring.master_key() == key
    assert [p.name for p in no_master_key.parent.iterdir()] == ["dev-master.key"]


def test_without_a_key_outside_development_nothing_is_made_and_the_error_says_what_to_set(
    settings, no_master_key
):
    settings.ALPR_ENV = "test"
    with pytest.raises(keyring.MasterKeyMissing, match="set ALPR_MASTER_KEY"):
        keyring.master_key()
    assert not no_master_key.parent.exists()


def test_old_master_keys_for_a_rotation_come_from_the_environment_or_a_file(tmp_path):
    first, second, inline = (os.urandom(32) for _ in range(3))
    old_file = tmp_path / "old.keys"
    old_file.write_text(f"{first.hex()}\n\n{base64.b64encode(second).decode()}\n")
    env = _development_env(tmp_path)
    env.update({"ALPR_OLD_MASTER_KEY_FILE": str(old_file), "ALPR_OLD_MASTER_KEY": inline.hex()})
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import alpr_portal.settings as s; print(','.join(k.hex() for k in s.ALPR_OLD_MASTER_KEYS))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(",") == [inline.hex(), first.hex(), second.hex()]
