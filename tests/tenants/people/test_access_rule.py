"""The access decorator's checks, on a view of its own (the URL-walking test covers real views)."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django_tenants.utils import schema_context

from tenants.people.access import require_access
from tenants.people.roles import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@require_access(Role.OFFICER, trained=True)
def officer_view(request):
    return HttpResponse("ok")


def _request(user, verified: bool):
    request = RequestFactory().get("/x", HTTP_HOST="alpha.localhost")
    request.user = user
    user.is_verified = lambda: verified
    return request


def test_rule_is_attached_to_the_view():
    assert officer_view.alpr_access.roles == frozenset({Role.OFFICER})
    assert officer_view.alpr_access.trained is True


def test_unverified_user_is_sent_to_second_factor(agency_a):
    officer = make_user(agency_a)
    with schema_context(agency_a.schema_name):
        response = officer_view(_request(officer, verified=False))
    assert response.status_code == 302


def test_wrong_role_is_forbidden(agency_a):
    auditor = make_user(agency_a, roles=[Role.AUDITOR])
    from django.core.exceptions import PermissionDenied

    with schema_context(agency_a.schema_name), pytest.raises(PermissionDenied):
        officer_view(_request(auditor, verified=True))


def test_untrained_officer_gets_an_explanation(agency_a):
    officer = make_user(agency_a, trained=False)
    with schema_context(agency_a.schema_name):
        response = officer_view(_request(officer, verified=True))
    assert response.status_code == 403
    assert b"Training required" in response.content


def test_trained_verified_officer_is_admitted(agency_a):
    officer = make_user(agency_a)
    with schema_context(agency_a.schema_name):
        response = officer_view(_request(officer, verified=True))
    assert response.content == b"ok"
