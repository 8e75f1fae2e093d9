"""Master key rotation as the README describes it, and what the keyring binds sealed values to.

Everyone made before the rotation signs in afterwards with the same authenticator and backup
codes, through the real pages, once the old key is gone from the process; images stored before
it still decrypt. Sealed values do not travel between agencies' schemas.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import importlib
import io
import os
import re
import secrets
import types

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from captures.models import DataKey
from captures.releases import signing as evidence_signing
from captures.storage import image_files
from tenants import keyring
from tenants.keyring.models import SchemaKey
from tenants.models import Agency
from tenants.people.crypto import SecretUnreadable
from tenants.people.models import EncryptedTOTPDevice
from tenants.people.services import backup_codes_regenerate
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import code_for, code_step, enrolled_secret, password_step

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 20)
PAYLOAD = b"\x89PNG\r\n\x1a\n" + b"stored-before-rotation-" * 50


@pytest.fixture
def platform(db) -> Agency:
    return Agency.objects.get(schema_name="public")


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path, monkeypatch):
    settings.ALPR_STORAGE_DIR = tmp_path / "images"
    settings.ALPR_OLD_MASTER_KEYS = []
    monkeypatch.delenv("ALPR_OLD_MASTER_KEY", raising=False)


def _signs_in_with(host: str, username: str, code: str) -> bool:
    """Password, then ``code``, through the real pages of ``host``; True when signed in."""
    client = Client(HTTP_HOST=host)
    first = password_step(client, username, DEFAULT_PASSWORD)
    assert first.status_code == 302, first
    assert "/accounts/login/code/" in first["Location"], first
    response = code_step(client, code)
    return response.status_code == 302 and "_auth_user_id" in client.session


def _person(agency: Agency, **kwargs) -> tuple:
    """A user of ``agency`` with an authenticator (its secret, as the app holds it) and codes."""
    user = make_user(agency, **kwargs)
    secret = enrolled_secret(agency, user)
    with schema_context(agency.schema_name):
        codes = backup_codes_regenerate(user=user)
    return user, secret, codes


def _rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_master_key", *args, stdout=out)
    return out.getvalue()


def _line(output: str, schema: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{schema}: "))


def test_rotation_as_the_readme_says_keeps_everyone_able_to_sign_in(
    agency_a, platform, settings, tmp_path
):
    officer, officer_secret, officer_codes = _person(agency_a)
    staff, staff_secret, staff_codes = _person(platform, roles=[], trained=False)
    with schema_context(agency_a.schema_name):
        image = image_files.store_image(day=DAY, data=PAYLOAD)

    # The README's steps: the old key in a file, the new key configured, rotate, old key gone.
    old_key = settings.ALPR_MASTER_KEY
    old_file = tmp_path / "old.key"
    old_file.write_text(base64.b64encode(old_key).decode())
    new_key = secrets.token_bytes(32)
    settings.ALPR_MASTER_KEY = new_key
    output = _rotate("--old-key-file", str(old_file))
    old_file.unlink()
    del old_key
    assert keyring.current_key_id() == keyring.fingerprint(new_key)

    alpha, public = _line(output, agency_a.schema_name), _line(output, "public")
    assert re.search(r"image data keys [1-9]\d* re-wrapped", alpha), output
    assert re.search(r"TOTP secrets [1-9]\d* re-sealed", alpha), output
    assert re.search(r"backup-code digest keys 1 re-wrapped, 0 already current", alpha), output
    assert re.search(r"TOTP secrets [1-9]\d* re-sealed", public), output
    assert re.search(r"backup-code digest keys 1 re-wrapped", public), output
    assert "image data keys" not in public  # no images in the platform schema

    # Agency officer: the same authenticator app, and separately a backup code.
    assert _signs_in_with("alpha.localhost", officer.username, code_for(officer_secret))
    assert _signs_in_with("alpha.localhost", officer.username, officer_codes[0])
    # Platform staff, on the platform host.
    assert _signs_in_with("localhost", staff.username, code_for(staff_secret))
    assert _signs_in_with("localhost", staff.username, staff_codes[0])
    # Images stored before the rotation.
    with schema_context(agency_a.schema_name):
        assert image_files.load_image(image) == PAYLOAD
        assert DataKey.objects.get(day=DAY).master_key_id == keyring.fingerprint(new_key)
        device = EncryptedTOTPDevice.objects.get(user=officer)
        assert device.sealed_key.startswith(f"v2:{keyring.fingerprint(new_key)}:")

    # A rerun (no old key at all now) finds everything current and changes nothing.
    with schema_context(agency_a.schema_name):
        before = EncryptedTOTPDevice.objects.get(user=officer).sealed_key
    again = _rotate()
    assert re.search(r"TOTP secrets 0 re-sealed, [1-9]\d* already current", _line(again, "alpha"))
    assert "image data keys 0 re-wrapped" in _line(again, "alpha")
    assert "backup-code digest keys 0 re-wrapped, 1 already current" in _line(again, "public")
    with schema_context(agency_a.schema_name):
        assert EncryptedTOTPDevice.objects.get(user=officer).sealed_key == before


def test_rotation_without_the_old_key_changes_nothing_in_that_schema(agency_a, settings, tmp_path):
    user, secret, codes = _person(agency_a)
    with schema_context(agency_a.schema_name):
        sealed_before = EncryptedTOTPDevice.objects.get(user=user).sealed_key
        key_row_before = SchemaKey.objects.get(purpose="backup-codes").wrapped_key
    old_key = settings.ALPR_MASTER_KEY
    settings.ALPR_MASTER_KEY = secrets.token_bytes(32)
    wrong = tmp_path / "wrong.key"
    wrong.write_text(base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(CommandError, match="not given"):
        _rotate("--old-key-file", str(wrong))
    with schema_context(agency_a.schema_name):
        assert EncryptedTOTPDevice.objects.get(user=user).sealed_key == sealed_before
        assert not AccessEvent.objects.filter(action=Action.KEY_ROTATED).exists()
        assert bytes(SchemaKey.objects.get(purpose="backup-codes").wrapped_key) == bytes(
            key_row_before
        )
    # With the right key it completes, and the person signs in with the new key alone.
    settings.ALPR_OLD_MASTER_KEYS = [old_key]
    _rotate()
    settings.ALPR_OLD_MASTER_KEYS = []
    assert _signs_in_with("alpha.localhost", user.username, code_for(secret))
    assert _signs_in_with("alpha.localhost", user.username, codes[1])


def test_old_key_configured_for_reading_bridges_the_changeover(agency_a, settings):
    """Between restarting with the new key and running the rotation, people still sign in."""
    user, secret, codes = _person(agency_a)
    old_key = settings.ALPR_MASTER_KEY
    settings.ALPR_MASTER_KEY = secrets.token_bytes(32)
    # Restarted with the new key only: the secret does not open, the page refuses (no 500).
    assert not _signs_in_with("alpha.localhost", user.username, code_for(secret))
    assert not _signs_in_with("alpha.localhost", user.username, codes[0])
    settings.ALPR_OLD_MASTER_KEYS = [old_key]  # ALPR_OLD_MASTER_KEY_FILE in the README
    assert _signs_in_with("alpha.localhost", user.username, code_for(secret))
    assert _signs_in_with("alpha.localhost", user.username, codes[0])


def _same_id_user(agency_a: Agency, agency_b: Agency):
    """A user in each agency with the same primary key (ids are per schema)."""
    user_model = get_user_model()
    ids = []
    for agency in (agency_a, agency_b):
        with schema_context(agency.schema_name):
            ids.append(user_model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    uid = max(ids) + 1000
    users = []
    for agency in (agency_a, agency_b):
        with schema_context(agency.schema_name):
            users.append(
                user_model.objects.create_user(
                    id=uid, username=f"same-id-{uid}", password=DEFAULT_PASSWORD
                )
            )
    return users


def test_a_sealed_secret_copied_to_the_same_row_of_another_agency_does_not_open(agency_a, agency_b):
    user_a, user_b = _same_id_user(agency_a, agency_b)
    assert user_a.pk == user_b.pk
    secret = enrolled_secret(agency_a, user_a)
    with schema_context(agency_a.schema_name):
        sealed = EncryptedTOTPDevice.objects.get(user=user_a).sealed_key
        codes = backup_codes_regenerate(user=user_a)
        digests = list(
            StaticToken.objects.filter(device__user=user_a).values_list("token", flat=True)
        )
    with schema_context(agency_b.schema_name):
        # Someone with access to B's tables copies A's sealed secret and backup-code digests.
        EncryptedTOTPDevice.objects.create(
            user=user_b, name="copied", confirmed=True, sealed_key=sealed
        )
        static = StaticDevice.objects.create(user=user_b, name="copied", confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=static, token=d) for d in digests)
        with pytest.raises(SecretUnreadable):
            _ = EncryptedTOTPDevice.objects.get(user=user_b).bin_key
    # In A the same value opens (the copy, not the value, is what fails).
    with schema_context(agency_a.schema_name):
        assert EncryptedTOTPDevice.objects.get(user=user_a).secret_base32 == secret

    assert not _signs_in_with("bravo.localhost", user_b.username, code_for(secret))
    assert not _signs_in_with("bravo.localhost", user_b.username, codes[0])
    with schema_context(agency_b.schema_name):
        reasons = list(
            AccessEvent.objects.filter(action="login_failed", actor_username=user_b.username)
            .order_by("id")
            .values_list("reason", flat=True)
        )
    assert reasons == ["wrong code", "wrong code"]


def _legacy_v1(master: bytes, secret: bytes, *, user_id: int) -> str:
    """How a TOTP secret was sealed before the keyring (people/crypto.py, v1)."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"alpr-portal/otp-secret/v1"
    ).derive(master)
    nonce = os.urandom(12)
    body = AESGCM(key).encrypt(nonce, secret, f"totp:user:{user_id}".encode())
    return "v1:" + base64.b64encode(nonce + body).decode()


def _legacy_digest(master: bytes, code: str) -> str:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"alpr-portal/backup-codes/v1"
    ).derive(master)
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()[:16]


def test_existing_second_factors_migrate_and_then_survive_a_rotation(agency_a, settings, tmp_path):
    master = settings.ALPR_MASTER_KEY
    user = make_user(agency_a)
    raw = os.urandom(20)
    code = StaticToken.random_token()
    with schema_context(agency_a.schema_name):
        # Data as the previous version left it.
        SchemaKey.objects.filter(purpose="backup-codes").delete()
        EncryptedTOTPDevice.objects.create(
            user=user,
            name="old",
            confirmed=True,
            sealed_key=_legacy_v1(master, raw, user_id=user.pk),
        )
        static = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
        StaticToken.objects.create(device=static, token=_legacy_digest(master, code))
        migration = importlib.import_module("tenants.people.migrations.0004_seal_v2")
        migration.forwards(django_apps, types.SimpleNamespace(connection=connection))
        device = EncryptedTOTPDevice.objects.get(user=user)
        assert device.sealed_key.startswith(f"v2:{keyring.fingerprint(master)}:")
        assert device.bin_key == raw
        assert SchemaKey.objects.filter(purpose="backup-codes").count() == 1

    old_file = tmp_path / "old.key"
    old_file.write_text(master.hex())
    settings.ALPR_MASTER_KEY = secrets.token_bytes(32)
    _rotate("--old-key-file", str(old_file))
    old_file.unlink()
    secret = base64.b32encode(raw).decode()
    assert _signs_in_with("alpha.localhost", user.username, code_for(secret))
    assert _signs_in_with("alpha.localhost", user.username, code)


def test_reseal_steps_cover_every_thing_made_from_the_master_key():
    """A new sealed thing registers its step; this lists what rotation knows about."""
    labels = {step.label: step.in_public for step in keyring.reseal_steps()}
    assert labels == {
        "TOTP secrets": True,
        "backup-code digest keys": True,
        "image data keys": False,
        "evidence-package signing key": False,
    }


def _rotation_entries(schema: str) -> list[AccessEvent]:
    with schema_context(schema):
        return list(AccessEvent.objects.filter(action=Action.KEY_ROTATED).order_by("id"))


def test_rotation_writes_key_rotated_into_each_schema_it_reseals(agency_a, platform, settings):
    user, _secret, _codes = _person(agency_a)
    with schema_context(agency_a.schema_name):
        image_files.store_image(day=DAY, data=PAYLOAD)
        evidence_signing.signing_key()  # the agency's evidence-package key (captures/releases)
    old_key = settings.ALPR_MASTER_KEY
    new_key = secrets.token_bytes(32)
    settings.ALPR_MASTER_KEY = new_key
    settings.ALPR_OLD_MASTER_KEYS = [old_key]
    _rotate()
    old_id, new_id = keyring.fingerprint(old_key), keyring.fingerprint(new_key)

    (alpha,) = _rotation_entries(agency_a.schema_name)
    assert alpha.actor_username == "system:rotate-master-key"
    assert alpha.actor_id is None
    assert alpha.details["key_id"] == new_id
    assert alpha.details["previous_key_ids"] == [old_id]
    steps = alpha.details["steps"]
    assert set(steps) == {step.name for step in keyring.reseal_steps()}
    assert steps["schema-key:backup-codes"]["resealed"] == 1
    assert all(step["resealed"] >= 1 for step in steps.values())
    (public,) = _rotation_entries("public")
    assert public.details["key_id"] == new_id
    assert "image data keys" not in {step["label"] for step in public.details["steps"].values()}
    # Fingerprints only: neither key appears in any spelling.
    for key in (old_key, new_key):
        encoded = base64.b64encode(key).decode()
        for spelling in (key.hex(), key.hex()[:24], encoded, encoded[:20]):
            for entry in (alpha, public):
                assert spelling not in f"{entry.reason} {entry.details}"

    # A rerun is recorded too, with nothing left under an old key.
    settings.ALPR_OLD_MASTER_KEYS = []
    _rotate()
    rerun = _rotation_entries(agency_a.schema_name)[-1]
    assert rerun.details["previous_key_ids"] == []
    assert {step["resealed"] for step in rerun.details["steps"].values()} == {0}


def test_the_entry_is_written_in_the_rotations_transaction(agency_a, platform, settings):
    """The database refuses alpha's entry: alpha's secrets stay under the old key."""
    user, _secret, _codes = _person(agency_a)
    with schema_context(agency_a.schema_name):
        sealed_before = EncryptedTOTPDevice.objects.get(user=user).sealed_key
    schema = agency_a.schema_name
    with connection.cursor() as cursor:  # DDL is transactional: the test's rollback drops it
        cursor.execute(
            f"CREATE FUNCTION {schema}.refuse_key_rotated() RETURNS trigger AS $$ BEGIN "
            "IF NEW.action = 'key_rotated' THEN RAISE EXCEPTION 'no rotation entries here'; "
            "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_key_rotated BEFORE INSERT ON {schema}.audit_accessevent "
            f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_key_rotated()"
        )
    old_key = settings.ALPR_MASTER_KEY
    settings.ALPR_MASTER_KEY = secrets.token_bytes(32)
    settings.ALPR_OLD_MASTER_KEYS = [old_key]
    with pytest.raises(CommandError, match=f"1 schema.*{schema}"):
        _rotate()
    with schema_context(schema):
        assert EncryptedTOTPDevice.objects.get(user=user).sealed_key == sealed_before
    assert _rotation_entries(schema) == []
    assert len(_rotation_entries("public")) == 1  # the other schemas were rotated
