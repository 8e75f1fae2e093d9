"""The platform admin (public schema): only verified platform staff; agencies are created there."""

import pytest
from django_tenants.utils import schema_exists

from tenants.models import Agency
from tests.factories import make_user, verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(db) -> Agency:
    return Agency.objects.get(schema_name="public")


def test_platform_staff_with_second_factor_sees_agencies(platform):
    staff = make_user(platform, roles=[], trained=False)
    staff.is_staff = True
    staff.is_superuser = True
    staff.save()
    client = verified_client(platform, staff)
    response = client.get("/admin/tenants/agency/")
    assert response.status_code == 200
    assert b"Alpha County Sheriff" in response.content
    assert b"platform administration" in response.content


def test_platform_admin_refuses_staff_without_second_factor(platform):
    from django.test import Client

    staff = make_user(platform, roles=[], trained=False)
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    response = client.get("/admin/tenants/agency/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"] or "/accounts/login" in response["Location"]


def test_platform_admin_creates_an_agency_through_the_service(platform):
    staff = make_user(platform, roles=[], trained=False)
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = verified_client(platform, staff)
    form = {
        "slug": "foxtrot",
        "name": "Foxtrot Police",
        "timezone": "America/Denver",
        "domain": "foxtrot.localhost",
        "admin_username": "chief",
        "admin_email": "chief@foxtrot.invalid",
    }
    response = client.post("/admin/tenants/agency/add/", form, follow=True)
    assert response.status_code == 200
    assert b"one-time password" in response.content
    assert Agency.objects.get(slug="foxtrot").domains.get().domain == "foxtrot.localhost"
    assert schema_exists("foxtrot")

    duplicate = client.post("/admin/tenants/agency/add/", {**form, "slug": "golf"})
    assert duplicate.status_code == 200
    assert b"already used" in duplicate.content
    assert not Agency.objects.filter(slug="golf").exists()


def test_agency_admin_does_not_offer_other_agencies(agency_a):
    from tenants.people.roles import Role

    admin_user = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, admin_user)
    assert client.get("/admin/tenants/agency/").status_code == 404
