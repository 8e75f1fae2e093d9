"""Odd input on the sign-in pages: a plain message, never a server error, nothing stored."""

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import enrolled_secret, password_step

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "", "password": ""},
        {"username": "u" * 5000, "password": "p"},
        {"username": "nul\x00byte", "password": "p"},
        {"username": "alice", "password": "x" * 5000},
        {"username": ["a", "b"], "password": "p"},
    ],
    ids=["nothing", "empty", "long-username", "nul", "long-password", "list"],
)
def test_login_page_refuses_odd_input_plainly(agency_a, client_a, data):
    response = client_a.post("/accounts/login/", data)
    assert response.status_code == 200
    assert b"message-error" in response.content
    assert "_auth_user_id" not in client_a.session


@pytest.mark.parametrize("code", ["", "\x00\x00\x00", "9" * 100, "<script>", "12 34 56", "-1"])
def test_code_page_refuses_odd_codes_plainly(agency_a, code):
    user = make_user(agency_a)
    enrolled_secret(agency_a, user)
    client = Client(HTTP_HOST="alpha.localhost")
    password_step(client, user.username, DEFAULT_PASSWORD)
    response = client.post("/accounts/login/code/", {"code": code})
    assert response.status_code == 200
    assert b"message-error" in response.content
    assert b"<script>" not in response.content
    assert "_auth_user_id" not in client.session


def test_enrolment_page_without_password_step_and_wrong_methods(client_a):
    assert client_a.get("/accounts/login/enrol/")["Location"] == "/accounts/login/"
    assert client_a.put("/accounts/login/").status_code == 405
    assert client_a.delete("/accounts/login/code/").status_code == 405
