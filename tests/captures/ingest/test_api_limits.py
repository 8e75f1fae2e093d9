"""The camera API's limits (real Redis), its count of refused keys, and NUL in its fields."""

from __future__ import annotations

import datetime

import pytest
import redis
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from alpr_portal.env import ConfigError, parse_rate
from captures.ingest.limits import KEY_PREFIX
from captures.ingest.services import camera_create, camera_deactivate
from captures.models import CameraAuthFailure, Capture
from tenants.people.roles import Role
from tests.factories import image_bytes, make_user, unique
from tests.support import api_post, verified_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/captures/"
NOBODY_LISTENS = "redis://127.0.0.1:1/0"  # a port where no Redis runs: "Redis is down"


def _client(address: str = "10.20.0.1") -> Client:
    return Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR=address)


def _captures_of(agency, camera) -> int:
    with schema_context(agency.schema_name):
        return Capture.objects.filter(camera_id=camera.camera.pk).count()


def _failures(agency) -> list[CameraAuthFailure]:
    with schema_context(agency.schema_name):
        return list(CameraAuthFailure.objects.select_related("camera").order_by("reason"))


def _second_camera(agency):
    with schema_context(agency.schema_name):
        return camera_create(name=unique("Cam A2 "), latitude=45.5, longitude=-122.6)


def test_a_camera_over_its_limit_gets_429_with_retry_after_and_others_go_on(
    settings, agency_a, camera_a
):
    settings.ALPR_CAMERA_RATE = (3, 3600)
    other = _second_camera(agency_a)
    client = _client()
    for _ in range(3):
        assert api_post(client, camera_a.api_key).status_code == 201
    refused = api_post(client, camera_a.api_key)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    body = refused.json()
    assert body["field"] is None
    assert "Too many uploads from this camera: at most 3 an hour" in body["detail"]
    assert f"Wait {refused['Retry-After']} seconds" in body["detail"]
    assert _captures_of(agency_a, camera_a) == 3  # the refused upload stored nothing
    # Another camera, from the same address, is not affected.
    assert api_post(client, other.api_key).status_code == 201
    # The count lives in Redis, expiring with its window.
    keys = list(redis.Redis.from_url(settings.REDIS_URL).scan_iter(f"{KEY_PREFIX}:*camera*"))
    assert len(keys) == 2
    assert 0 < redis.Redis.from_url(settings.REDIS_URL).ttl(keys[0]) <= 3601


def test_refused_keys_are_counted_per_window_and_an_address_past_the_limit_waits(
    settings, agency_a, camera_a
):
    settings.ALPR_CAMERA_FAILURE_RATE = (5, 3600)
    bad_secret = camera_a.api_key[:-4] + (
        "AAAA" if not camera_a.api_key.endswith("AAAA") else "BBBB"
    )
    attacker = _client("10.66.0.7")
    for _ in range(3):
        assert api_post(attacker, bad_secret).status_code == 401
    assert api_post(attacker, None).status_code == 401
    assert api_post(attacker, "not-a-key").status_code == 401

    rows = _failures(agency_a)
    assert [(r.reason, r.attempts, r.client_ip) for r in rows] == [
        ("malformed_key", 1, "10.66.0.7"),
        ("missing_key", 1, "10.66.0.7"),
        ("unknown_key", 3, "10.66.0.7"),  # one row, counted up: not one row per request
    ]
    unknown = rows[-1]
    assert unknown.key_prefix == camera_a.camera.key_prefix
    assert unknown.camera_id == camera_a.camera.pk
    assert unknown.window_start == unknown.first_at.replace(minute=0, second=0, microsecond=0)

    # Five refused keys from this address: now even the right key waits for the window.
    refused = api_post(attacker, camera_a.api_key)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert "Too many refused camera keys from this address" in refused.json()["detail"]
    assert sum(r.attempts for r in _failures(agency_a)) == 5  # the 429 checked no key
    # The camera itself, from its own address, is unaffected.
    assert api_post(_client("10.20.0.2"), camera_a.api_key).status_code == 201


def test_administrators_see_the_failed_camera_sign_ins(settings, agency_a, camera_a):
    api_post(_client("10.66.0.8"), camera_a.api_key + "x")
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    page = verified_client(agency_a, administrator).get("/admin/captures/cameraauthfailure/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "10.66.0.8" in html
    assert camera_a.camera.key_prefix in html
    assert "Unknown or rotated key" in html
    officer = verified_client(agency_a, make_user(agency_a, roles=[Role.OFFICER]))
    assert officer.get("/admin/captures/cameraauthfailure/").status_code == 302


def test_keys_of_other_agencies_and_deactivated_cameras_are_counted_apart(
    settings, agency_a, camera_a, camera_b
):
    api_post(_client("10.66.0.9"), camera_b.api_key)
    with schema_context(agency_a.schema_name):
        camera_deactivate(camera=camera_a.camera)
    api_post(_client("10.66.0.9"), camera_a.api_key)
    reasons = {(r.reason, r.key_prefix) for r in _failures(agency_a)}
    assert reasons == {
        ("other_agency", camera_b.camera.key_prefix),
        ("deactivated", camera_a.camera.key_prefix),
    }


def test_old_failure_counts_are_removed_when_a_new_window_starts(settings, agency_a):
    from captures.ingest.limits import camera_auth_failure_record

    settings.ALPR_CAMERA_FAILURE_DAYS = 30
    long_ago = timezone.now() - datetime.timedelta(days=31)
    with schema_context(agency_a.schema_name):
        camera_auth_failure_record(
            address="10.1.1.1", key_prefix="", reason="missing_key", now=long_ago
        )
        camera_auth_failure_record(address="10.1.1.1", key_prefix="", reason="missing_key")
        assert list(CameraAuthFailure.objects.values_list("attempts", flat=True)) == [1]


def test_redis_down_fails_open_by_default(settings, agency_a, camera_a):
    settings.REDIS_URL = NOBODY_LISTENS
    settings.ALPR_CAMERA_RATE = (1, 3600)
    settings.ALPR_CAMERA_FAILURE_RATE = (1, 3600)
    client = _client("10.30.0.1")
    assert api_post(client, camera_a.api_key).status_code == 201
    assert api_post(client, camera_a.api_key).status_code == 201  # the limit is not enforced
    assert api_post(client, "alpr_alpha_nope_nope").status_code == 401
    assert api_post(client, camera_a.api_key).status_code == 201
    assert [r.attempts for r in _failures(agency_a)] == [1]  # still counted in the database


def test_redis_down_fails_closed_when_configured(settings, agency_a, camera_a):
    settings.REDIS_URL = NOBODY_LISTENS
    settings.ALPR_CAMERA_RATE_FAIL_OPEN = False
    response = api_post(_client("10.30.0.2"), camera_a.api_key)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "send it again in a minute" in response.json()["detail"]
    assert _captures_of(agency_a, camera_a) == 0


def test_limits_off(settings, agency_a, camera_a):
    settings.ALPR_CAMERA_RATE = None
    settings.ALPR_CAMERA_FAILURE_RATE = None
    settings.REDIS_URL = NOBODY_LISTENS  # not even asked
    settings.ALPR_CAMERA_RATE_FAIL_OPEN = False
    assert api_post(_client(), camera_a.api_key).status_code == 201


@pytest.mark.parametrize(
    "field", ["plate", "state", "capture_id", "captured_at", "latitude", "longitude", "confidence"]
)
def test_nul_in_an_api_field_is_a_400_naming_the_field(agency_a, camera_a, field):
    pair = {"latitude": "45.5", "longitude": "-122.6"}  # coordinates come in pairs
    extra = {k: v for k, v in pair.items() if k != field} if field in pair else {}
    response = api_post(_client(), camera_a.api_key, **extra, **{field: "7\x00AB"})
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert _captures_of(agency_a, camera_a) == 0


@pytest.mark.parametrize(
    "header",
    [
        "Bearer alpr_alpha_\x00_secret",
        "Bearer \x00",
        "\x00",
    ],
)
def test_nul_in_the_key_is_a_400(agency_a, camera_a, header):
    response = _client().post(
        URL, {"captured_at": timezone.now().isoformat()}, HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]


def test_nul_in_a_file_name_or_field_name_is_not_an_error(agency_a, camera_a):
    response = api_post(
        _client(),
        camera_a.api_key,
        plate_image=SimpleUploadedFile("p\x00.png", image_bytes(), "image/png"),
        **{"extra\x00": "x"},
    )
    assert response.status_code == 201, response.content


def test_the_default_limits_parse(settings):
    assert django_settings.ALPR_CAMERA_RATE == (120, 60)
    assert django_settings.ALPR_CAMERA_FAILURE_RATE == (10, 60)
    assert django_settings.ALPR_CAMERA_RATE_FAIL_OPEN is True


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("120/m", (120, 60)),
        ("500/5m", (500, 300)),
        ("3/s", (3, 1)),
        ("1/d", (1, 86400)),
        ("off", None),
    ],
)
def test_rate_format(text, parsed):
    assert parse_rate(text, name="X") == parsed


@pytest.mark.parametrize(
    "text", ["120", "120/", "/m", "0/m", "-1/m", "12/0m", "5/w", "a/m", "1/xm"]
)
def test_malformed_rate_names_the_variable(text):
    with pytest.raises(ConfigError, match="ALPR_CAMERA_RATE must look like 120/m"):
        parse_rate(text, name="ALPR_CAMERA_RATE")
