"""Platform staff see no agency data by default: every URL of the agency host (the walk of
tests/tenants/people/test_url_access.py), with a platform staff session and with a staff member
who tries to sign in there, answers with the sign-in, a refusal or what anyone gets."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_tenants.utils import schema_context

from audit.models import Action
from tests.factories import DEFAULT_PASSWORD, make_camera, make_capture
from tests.support import code_for, events, rate_limits_reset, verified_client
from tests.tenants.people.test_url_access import ENDPOINTS, LOGIN_PREFIXES, _kind


def _answer(client: Client, path: str):
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path)
    return response


def _assert_no_agency_data(client: Client, anonymous: Client, marker: bytes) -> int:
    """Walk every agency URL: sign-in, 401/403/404, or exactly what an anonymous visitor gets."""
    walked = 0
    rate_limits_reset()  # the camera API's per-address limits would answer 429 first
    for endpoint in ENDPOINTS:
        response = _answer(client, endpoint.path)
        assert marker not in response.content, endpoint
        kind = _kind(endpoint)
        if kind in ("public", "allowed", "health"):  # sign-in, policy, health: as for anyone
            expected = _answer(anonymous, endpoint.path)
            assert response.status_code == expected.status_code, endpoint
        elif kind == "camera_api":
            assert response.status_code in (401, 403, 405), endpoint
        elif response.status_code == 302:
            assert response["Location"].startswith(LOGIN_PREFIXES), endpoint
        else:
            assert response.status_code in (401, 403, 404), endpoint
        walked += 1
    return walked


@pytest.fixture
def agency_data(agency_a):
    """A capture of agency A whose plate would show if anything leaked."""
    capture = make_capture(agency_a, camera=make_camera(agency_a), plate="7LEAK77")
    return capture


def test_a_platform_staff_session_reaches_nothing_on_the_agency_host(
    platform, agency_a, staff, agency_data
):
    with schema_context("public"):
        User.objects.filter(pk=staff.pk).update(is_superuser=True)
    superuser = User.objects.get(pk=staff.pk)
    platform_client = verified_client(platform, superuser)
    assert platform_client.get("/admin/").status_code == 200  # a working platform session

    on_agency = Client(HTTP_HOST="alpha.localhost")
    on_agency.cookies["sessionid"] = platform_client.cookies["sessionid"].value
    anonymous = Client(HTTP_HOST="alpha.localhost")
    walked = _assert_no_agency_data(on_agency, anonymous, b"7LEAK77")
    assert walked == len(ENDPOINTS)
    capture_page = on_agency.get(f"/captures/{agency_data.pk}/")
    assert capture_page.status_code == 302
    assert events(agency_a, action=Action.CAPTURE_VIEWED) == []


def test_platform_staff_cannot_sign_in_on_the_agency_host(platform, agency_a, staff, agency_data):
    client = Client(HTTP_HOST="alpha.localhost")
    response = client.post(
        "/accounts/login/", {"username": staff.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200  # refused: no such user in the agency
    assert client.post("/accounts/login/code/", {"code": code_for(staff.secret)}).status_code == 302
    (failed,) = events(agency_a, action=Action.LOGIN_FAILED, actor_username=staff.username)
    assert failed.reason == "unknown username"
    # Support sign-in without a grant is refused as well.
    response = client.post(
        "/support/sign-in/",
        {"username": staff.username, "password": DEFAULT_PASSWORD, "code": code_for(staff.secret)},
    )
    assert b"Support sign-in refused" in response.content
    anonymous = Client(HTTP_HOST="alpha.localhost")
    assert _assert_no_agency_data(client, anonymous, b"7LEAK77") == len(ENDPOINTS)


def test_an_agency_user_with_the_staff_members_name_is_someone_else(platform, agency_a, staff):
    """Names are per schema: the platform's password does not open an agency namesake."""
    from tests.factories import make_user

    make_user(agency_a, username=staff.username, password="another-long-password-1")
    client = Client(HTTP_HOST="alpha.localhost")
    response = client.post(
        "/accounts/login/", {"username": staff.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert b"not right" in response.content
