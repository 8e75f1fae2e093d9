"""The platform admin (public schema): only verified platform staff; agencies are created there."""

import pytest
from django_tenants.utils import schema_exists

from tenants.models import Agency
from tests.factories import make_user
from tests.support import verified_client

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


def _staff_client(platform, username: str):
    staff = make_user(platform, username=username, roles=[], trained=False)
    staff.is_staff = staff.is_superuser = True
    staff.save()
    return staff, verified_client(platform, staff)


def _agency_form(agency, **overrides) -> dict:
    domain = agency.domains.get(is_primary=True)
    data = {
        "name": agency.name,
        "timezone": agency.timezone,
        "retention_days": agency.retention_days,
        "require_case_number": "on" if agency.require_case_number else "",
        "purge_hour": agency.purge_hour,
        "contact_name": agency.contact_name,
        "contact_email": agency.contact_email,
        "jurisdiction": agency.jurisdiction,
        "public_agency": "on" if agency.public_agency else "",
        "share_law_profile": agency.share_law_profile,
        "domains-TOTAL_FORMS": "1",
        "domains-INITIAL_FORMS": "1",
        "domains-MIN_NUM_FORMS": "0",
        "domains-MAX_NUM_FORMS": "1000",
        "domains-0-id": domain.pk,
        "domains-0-tenant": agency.pk,
        "domains-0-domain": domain.domain,
        "domains-0-is_primary": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def _settings_events(agency):
    from django_tenants.utils import schema_context

    from audit.models import AccessEvent

    with schema_context(agency.schema_name):
        return list(AccessEvent.objects.filter(action="settings_changed").order_by("id"))


def test_platform_staff_changes_land_in_the_agencys_own_log(platform, agency_a, agency_b):
    from django_tenants.utils import schema_context

    from audit.chain import verify_chain

    staff, client = _staff_client(platform, "ops-jane")
    before_b = len(_settings_events(agency_b))
    response = client.post(
        f"/admin/tenants/agency/{agency_a.pk}/change/",
        _agency_form(
            agency_a, retention_days=12, require_case_number="", purge_hour=4,
            contact_name="Records Unit", contact_email="records@alpha.invalid",
        ),
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    agency = Agency.objects.get(pk=agency_a.pk)
    assert (agency.retention_days, agency.require_case_number, agency.purge_hour) == (12, False, 4)
    (event,) = _settings_events(agency_a)
    assert event.actor_username == "ops-jane"
    assert event.actor_id is None  # no agency user's id
    assert event.details["platform_staff"] is True
    assert event.details["changes"] == {
        "retention_days": {"from": 30, "to": 12},
        "require_case_number": {"from": True, "to": False},
        "purge_hour": {"from": 3, "to": 4},
        "contact_name": {"from": "", "to": "Records Unit"},
        "contact_email": {"from": "", "to": "records@alpha.invalid"},
    }
    with schema_context(agency_a.schema_name):
        assert verify_chain().ok
    assert len(_settings_events(agency_b)) == before_b  # nothing in another agency's log
    with schema_context("public"):  # and the platform's own log names the agency
        from audit.models import AccessEvent

        public = AccessEvent.objects.filter(action="settings_changed").latest("id")
        assert public.actor_id == staff.pk
        assert public.details["agency"] == "alpha"
        assert verify_chain().ok


def test_platform_staff_host_change_is_logged_and_a_refused_value_changes_nothing(
    platform, agency_a
):
    _, client = _staff_client(platform, "ops-raj")
    url = f"/admin/tenants/agency/{agency_a.pk}/change/"
    refused = client.post(url, _agency_form(agency_a, retention_days=45))
    assert refused.status_code == 200
    assert "between 1 and 30 days" in refused.content.decode()
    assert Agency.objects.get(pk=agency_a.pk).retention_days == 30
    assert _settings_events(agency_a) == []

    response = client.post(url, _agency_form(agency_a, **{"domains-0-domain": "alpha2.localhost"}))
    assert response.status_code == 302, response.content.decode()[:2000]
    (event,) = _settings_events(agency_a)
    assert event.actor_username == "ops-raj"
    assert event.details["platform_staff"] is True
    assert event.details["domains"]["changed"] == [
        {"from": "alpha.localhost", "to": "alpha2.localhost", "primary": True}
    ]
