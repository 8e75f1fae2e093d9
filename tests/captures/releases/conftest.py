"""Fixtures of the releases tests: a preparer, two Administrators, an auditor, their clients,
and a private folder for evidence packages."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from tenants.people.roles import Role
from tests.factories import make_user
from tests.support import verified_client


@pytest.fixture(autouse=True)
def package_dir(settings, tmp_path):
    path = tmp_path / "packages"
    settings.ALPR_PACKAGE_DIR = path
    return path


@pytest.fixture
def admin_a(agency_a):
    return make_user(agency_a, roles=[Role.ADMINISTRATOR])


@pytest.fixture
def second_admin_a(agency_a):
    return make_user(agency_a, roles=[Role.ADMINISTRATOR])


@pytest.fixture
def auditor_a(agency_a):
    return make_user(agency_a, roles=[Role.AUDITOR])


@pytest.fixture
def as_user():
    """``as_user(user)``: a request made by ``user`` (for calling services directly)."""

    def build(user):
        request = RequestFactory().post("/releases/", REMOTE_ADDR="10.0.0.7")
        request.user = user
        return request

    return build


@pytest.fixture
def client_of(agency_a):
    return lambda user: verified_client(agency_a, user)
