"""The encrypted image storage: what is on disk, tampering, keys per day, rotation."""

from __future__ import annotations

import base64
import datetime
import io
import os
import secrets

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from captures.models import DataKey
from captures.storage import image_files
from captures.storage.image_files import ImageDecryptError, master_key_id

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 20)
PAYLOAD = b"\x89PNG\r\n\x1a\n" + b"plate-bytes-" * 200


def test_round_trip_and_file_does_not_contain_the_bytes(agency_a, storage_dir):
    with schema_context(agency_a.schema_name):
        name = image_files.store_image(day=DAY, data=PAYLOAD)
        assert name.startswith("2026-11-20/")
        assert name.endswith(".bin")
        path = storage_dir / agency_a.schema_name / name
        on_disk = path.read_bytes()
        assert b"plate-bytes-" not in on_disk
        assert PAYLOAD[:64] not in on_disk
        assert image_files.load_image(name) == PAYLOAD
        row = DataKey.objects.get(day=DAY)
        assert row.master_key_id == master_key_id(_master())
        assert list(image_files.iter_stored_names()) == [name]
        assert list(image_files.iter_stored_names(before_day=DAY)) == []
        assert image_files.delete_image(name) is True
        assert not path.exists()
        assert image_files.delete_image(name) is False


def _master() -> bytes:
    from django.conf import settings

    return settings.ALPR_MASTER_KEY


def test_tampered_file_fails_with_a_clear_error(agency_a, storage_dir):
    with schema_context(agency_a.schema_name):
        name = image_files.store_image(day=DAY, data=PAYLOAD)
        path = storage_dir / agency_a.schema_name / name
        blob = bytearray(path.read_bytes())
        blob[40] ^= 0x01
        path.write_bytes(bytes(blob))
        with pytest.raises(ImageDecryptError, match="integrity check"):
            image_files.load_image(name)


def test_missing_file_and_destroyed_key_fail_clearly(agency_a, storage_dir):
    with schema_context(agency_a.schema_name):
        name = image_files.store_image(day=DAY, data=PAYLOAD)
        other = image_files.store_image(day=DAY, data=PAYLOAD)
        (storage_dir / agency_a.schema_name / other).unlink()
        with pytest.raises(ImageDecryptError, match="missing"):
            image_files.load_image(other)
        assert image_files.destroy_day_key(DAY) is True
        with pytest.raises(ImageDecryptError, match="destroyed"):
            image_files.load_image(name)


def test_file_copied_to_another_agency_does_not_decrypt(agency_a, agency_b, storage_dir):
    with schema_context(agency_a.schema_name):
        name = image_files.store_image(day=DAY, data=PAYLOAD)
    with schema_context(agency_b.schema_name):
        image_files.store_image(day=DAY, data=b"b's own image")  # B has a key for that day too
        target = storage_dir / agency_b.schema_name / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((storage_dir / agency_a.schema_name / name).read_bytes())
        with pytest.raises(ImageDecryptError):
            image_files.load_image(name)


def test_each_day_has_its_own_key(agency_a):
    with schema_context(agency_a.schema_name):
        image_files.store_image(day=DAY, data=PAYLOAD)
        image_files.store_image(day=DAY, data=PAYLOAD)
        image_files.store_image(day=DAY + datetime.timedelta(days=1), data=PAYLOAD)
        rows = list(DataKey.objects.filter(day__in=[DAY, DAY + datetime.timedelta(days=1)]))
        assert len(rows) == 2
        assert rows[0].wrapped_key != rows[1].wrapped_key


def test_rotate_master_key_keeps_old_images_readable(agency_a, settings, tmp_path, monkeypatch):
    old_key = settings.ALPR_MASTER_KEY
    with schema_context(agency_a.schema_name):
        name = image_files.store_image(day=DAY, data=PAYLOAD)
    new_key = secrets.token_bytes(32)
    settings.ALPR_MASTER_KEY = new_key
    with (
        schema_context(agency_a.schema_name),
        pytest.raises(ImageDecryptError, match="another master key"),
    ):
        image_files.load_image(name)
    old_file = tmp_path / "old.key"
    old_file.write_text(base64.b64encode(old_key).decode())
    out = io.StringIO()
    call_command("rotate_master_key", "--old-key-file", str(old_file), stdout=out)
    assert "re-wrapped" in out.getvalue()
    with schema_context(agency_a.schema_name):
        assert image_files.load_image(name) == PAYLOAD
        assert DataKey.objects.get(day=DAY).master_key_id == master_key_id(new_key)
    # A second run changes nothing and still succeeds (the env variable form this time).
    monkeypatch.setenv("ALPR_OLD_MASTER_KEY", old_key.hex())
    call_command("rotate_master_key", stdout=io.StringIO())
    with schema_context(agency_a.schema_name):
        assert image_files.load_image(name) == PAYLOAD


def test_rotate_without_the_old_key_changes_nothing(agency_a, settings, tmp_path):
    from django.core.management.base import CommandError

    with schema_context(agency_a.schema_name):
        image_files.store_image(day=DAY, data=PAYLOAD)
    settings.ALPR_MASTER_KEY = secrets.token_bytes(32)
    wrong = tmp_path / "wrong.key"
    wrong.write_text(base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(CommandError, match="not given"):
        call_command("rotate_master_key", "--old-key-file", str(wrong), stdout=io.StringIO())
