"""Test settings: only overrides of the real settings."""

import os

os.environ.setdefault("ALPR_ENV", "test")
# A fixed key for tests only; the worker subprocesses started by tests read the same value.
os.environ.setdefault("ALPR_MASTER_KEY", "dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMhISE=")

from alpr_portal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Processes started by tests (page server, Celery worker) use the test database.
if os.environ.get("ALPR_TEST_SERVER_DB"):
    DATABASES["default"]["NAME"] = os.environ["ALPR_TEST_SERVER_DB"]  # noqa: F405

# Access-log checkpoints of the test database, apart from the development database's
# (tests/conftest.py gives each test its own folder; this is for the processes tests start).
ALPR_AUDIT_CHECKPOINT_DIR = BASE_DIR / "var" / "test-audit-checkpoints"  # noqa: F405
