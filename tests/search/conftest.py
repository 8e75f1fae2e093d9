"""Helpers of the search tests: an officer's signed-in client and a valid search form."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from captures.models import AuthorizedPurpose
from tenants.people.roles import Role
from tests.factories import make_user, verified_client


@pytest.fixture
def officer_a(agency_a):
    return make_user(agency_a, roles=[Role.OFFICER])


@pytest.fixture
def officer_client_a(agency_a, officer_a):
    return verified_client(agency_a, officer_a)


def purpose_id(agency, name: str = "Stolen vehicle") -> int:
    with schema_context(agency.schema_name):
        return AuthorizedPurpose.objects.get(name=name).pk


def search_data(agency, **overrides) -> dict:
    """A POST body of an acceptable search (times in the agency's zone), overridable per field."""
    now = timezone.now().astimezone(agency.tz)
    data = {
        "plate": "7ABC123",
        "state": "",
        "start": (now - datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "include_unconfirmed": "on",
        "purpose": purpose_id(agency),
        "case_number": "2026-004512",
        "purpose_text": "Grey Honda Civic reported stolen on Main St",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def events(agency, **filters) -> list[AccessEvent]:
    with schema_context(agency.schema_name):
        return list(AccessEvent.objects.filter(**filters).order_by("id"))


REVIEW_PURPOSE = "Quality review of computer reads"


def start_review(client, agency, **overrides):
    """Start a review session through the queue's purpose form; returns the response."""
    data = {"purpose": purpose_id(agency, REVIEW_PURPOSE), "case_number": "", "purpose_text": ""}
    data.update(overrides)
    return client.post("/review/", {k: v for k, v in data.items() if v is not None})


def version_of(agency, capture) -> str:
    """The version of a read a review page shows (its latest review's id, 0 for none)."""
    from captures.review.selectors import review_version

    with schema_context(agency.schema_name):
        from captures.models import Capture

        return str(review_version(Capture.objects.get(pk=capture.pk)))


@pytest.fixture
def reviewing_client_a(officer_client_a, agency_a):
    """The officer's client with a review session started (quality review of reads)."""
    response = start_review(officer_client_a, agency_a)
    assert response.status_code == 302, response.content.decode()[:2000]
    return officer_client_a
