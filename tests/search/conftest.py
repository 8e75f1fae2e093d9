"""Fixtures of the search tests: an officer, signed in, with or without a review session."""

from __future__ import annotations

import pytest

from tenants.people.roles import Role
from tests.factories import make_user
from tests.support import start_review, verified_client


@pytest.fixture
def officer_a(agency_a):
    return make_user(agency_a, roles=[Role.OFFICER])


@pytest.fixture
def officer_client_a(agency_a, officer_a):
    return verified_client(agency_a, officer_a)


@pytest.fixture
def reviewing_client_a(officer_client_a, agency_a):
    """The officer's client with a review session started (quality review of reads)."""
    response = start_review(officer_client_a, agency_a)
    assert response.status_code == 302, response.content.decode()[:2000]
    return officer_client_a
