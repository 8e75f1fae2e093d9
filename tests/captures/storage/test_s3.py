"""Images in an S3-compatible bucket (ALPR_STORAGE=s3, django-storages) against moto's server
mode, started here on a free port: store, read, purge, crypto-shred, orphans, retention check."""

from __future__ import annotations

import datetime
import uuid

import boto3
import pytest
from django_tenants.utils import schema_context
from moto.server import ThreadedMotoServer

from captures.retention.checks import verify_retention
from captures.retention.services import purge_expired
from captures.storage import image_files
from tests.factories import (
    RETENTION_CAMERA,
    image_bytes,
    ingest_capture,
    make_camera,
    make_stored_capture,
    unused_expired_day,
)
from tests.support import files_of, free_port

pytestmark = pytest.mark.django_db

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings, tmp_path):
    name = f"alpr-test-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=name)
    settings.ALPR_STORAGE = "s3"
    settings.ALPR_S3_BUCKET = name
    settings.ALPR_S3_ENDPOINT_URL = s3_server
    settings.ALPR_S3_ACCESS_KEY_ID = CREDENTIALS["aws_access_key_id"]
    settings.ALPR_S3_SECRET_ACCESS_KEY = CREDENTIALS["aws_secret_access_key"]
    settings.ALPR_S3_REGION = "us-east-1"
    settings.ALPR_S3_PREFIX = "images"
    settings.ALPR_STORAGE_DIR = tmp_path / "not-used"  # nothing may land on the disk
    return client, name


def _keys(bucket) -> set[str]:
    client, name = bucket
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def test_an_ingested_capture_is_stored_encrypted_in_the_bucket_and_reads_back(
    bucket, agency_a, camera_a, settings
):
    capture = ingest_capture(agency_a, camera_a, text="S3READ1", vehicle=True)
    keys = _keys(bucket)
    expected = {f"images/alpha/{name}" for name in files_of(capture)}
    assert expected <= keys
    assert not settings.ALPR_STORAGE_DIR.exists()
    client, name = bucket
    raw = client.get_object(Bucket=name, Key=f"images/alpha/{capture.plate_image}")["Body"].read()
    assert raw.startswith(image_files.MAGIC)
    with schema_context(agency_a.schema_name):
        plate = image_files.load_image(capture.plate_image)
    assert plate[:4] == b"\x89PNG" or plate[:3] == b"\xff\xd8\xff"
    assert plate not in raw  # ciphertext only in the bucket


def test_a_missing_or_altered_object_is_a_decrypt_error_not_a_crash(bucket, agency_a, camera_a):
    capture = ingest_capture(agency_a, camera_a, text="S3GONE1")
    client, name = bucket
    key = f"images/alpha/{capture.plate_image}"
    raw = client.get_object(Bucket=name, Key=key)["Body"].read()
    client.put_object(Bucket=name, Key=key, Body=raw[:-1] + bytes([raw[-1] ^ 1]))
    with schema_context(agency_a.schema_name):
        with pytest.raises(image_files.ImageDecryptError, match="integrity"):
            image_files.load_image(capture.plate_image)
        client.delete_object(Bucket=name, Key=key)
        with pytest.raises(image_files.ImageDecryptError, match="missing"):
            image_files.load_image(capture.plate_image)
        assert image_files.delete_image(capture.plate_image) is False


def test_the_purge_deletes_expired_objects_sweeps_orphans_and_shreds_the_day(
    bucket, agency_a, settings
):
    camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
    noon = unused_expired_day(agency_a)
    day = noon.date()
    expired = [
        make_stored_capture(agency_a, camera, captured_at=noon + datetime.timedelta(seconds=i))
        for i in range(20)  # enough for the parallel deletes
    ]
    with schema_context(agency_a.schema_name):
        orphan = image_files.store_image(day=day, data=b"an upload whose row never came")
        backup_copy = image_files.image_storage.blobs.read(f"alpha/{expired[0].plate_image}")
        assert set(image_files.iter_stored_names(before_day=day + datetime.timedelta(days=1))) >= {
            orphan,
            *files_of(expired[0]),
        }
    assert not verify_retention(agency=agency_a).ok

    result = purge_expired(agency=agency_a)

    prefix = f"images/alpha/{day.isoformat()}/"
    assert not [key for key in _keys(bucket) if key.startswith(prefix)]
    assert result.files_deleted >= 40
    assert result.orphan_files_deleted >= 1
    assert result.keys_destroyed >= 1
    assert verify_retention(agency=agency_a).ok
    # Crypto-shred: a copy of the object kept elsewhere (a backup) no longer decrypts.
    with schema_context(agency_a.schema_name):
        image_files.image_storage.blobs.write(f"alpha/{expired[0].plate_image}", backup_copy)
        with pytest.raises(image_files.DayKeyDestroyed):
            image_files.load_image(expired[0].plate_image)
        with pytest.raises(image_files.DayKeyDestroyed):
            image_files.store_image(day=day, data=image_bytes())


def test_local_stays_the_default(settings):
    assert settings.ALPR_STORAGE == "local"
