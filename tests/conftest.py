"""Shared fixtures: two agencies (A = alpha, B = bravo) on top of the real PostgreSQL.

Notes on django-tenants under pytest (see docs/TESTING.md):
- agencies are created once per session, after pytest-django's migrate;
- never use ``transaction=True``/``live_server``: their flush empties the public
  schema (the agencies) but not the agency schemas. Tests that need committed
  data (browser, worker) commit it with the ``committed`` fixture and use unique names.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.services import agency_create, platform_ensure

AGENCIES = {"alpha": "Alpha County Sheriff", "bravo": "Bravo City Police"}


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_createdb
):
    """The test database with the platform and agencies A and B.

    Replaces pytest-django's fixture so the test database is also set up when the
    only tests collected are ones without the ``django_db`` mark (browser, worker).
    """
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    if settings.ALPR_ENV != "test":
        pytest.exit(
            f"Tests need DJANGO_SETTINGS_MODULE=alpr_portal.settings_test (ALPR_ENV is {settings.ALPR_ENV}).",
            2,
        )
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=django_db_keepdb and not django_db_createdb,
            aliases={"default"},
            serialized_aliases=set(),
        )
        platform_ensure(domain="localhost")
        for slug, name in AGENCIES.items():
            agency_create(slug=slug, name=name, domain=f"{slug}.localhost")
        connection.set_schema_to_public()
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            try:
                teardown_databases(config, verbosity=request.config.option.verbose)
            except Exception as exc:  # noqa: BLE001 - leftovers must not fail the run
                request.node.warn(pytest.PytestWarning(f"Test database not dropped: {exc!r}"))


@pytest.fixture(autouse=True)
def _back_to_public():
    yield
    connection.set_schema_to_public()


@pytest.fixture(scope="session")
def audit_signing_key_file(tmp_path_factory):
    """One Ed25519 key for the session's access-log checkpoints (audit/checkpoint.py)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    path = tmp_path_factory.mktemp("audit-signing") / "audit-signing.pem"
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


@pytest.fixture(autouse=True)
def audit_checkpoint_dir(settings, tmp_path, audit_signing_key_file):
    """Checkpoints live outside the database, so they survive a test's rollback: every test
    gets its own empty store (a checkpoint of rolled-back entries would fail later tests)."""
    path = tmp_path / "audit-checkpoints"
    settings.ALPR_AUDIT_CHECKPOINT_DIR = path
    settings.ALPR_AUDIT_SIGNING_KEY_FILE = audit_signing_key_file
    settings.ALPR_AUDIT_SIGNING_KEY_CREATE = False
    return path


@pytest.fixture
def agency_a(db) -> Agency:
    return Agency.objects.get(slug="alpha")


@pytest.fixture
def agency_b(db) -> Agency:
    return Agency.objects.get(slug="bravo")


@pytest.fixture
def client_a(agency_a) -> Client:
    return Client(HTTP_HOST="alpha.localhost")


@pytest.fixture
def client_b(agency_b) -> Client:
    return Client(HTTP_HOST="bravo.localhost")


@pytest.fixture
def in_agency():
    """``with in_agency(agency): ...`` runs ORM calls in that agency's schema."""
    return lambda agency: schema_context(agency.schema_name)


@pytest.fixture
def committed(django_db_setup, django_db_blocker, monkeypatch):
    """Database access outside the per-test transaction: what is written is committed.

    For tests whose other side is another process (browser server, Celery worker) or another
    connection. The browser tests' session-wide Playwright leaves an event loop in this thread,
    which makes Django refuse ORM calls here; it is not ours, so say so.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()
