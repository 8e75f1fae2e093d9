"""The "Agency settings" admin page and the settings service: limits, scope, access log."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.models import RETENTION_LIMIT_MESSAGE as RETENTION_MESSAGE
from tenants.models import Agency
from tenants.people.roles import Role
from tenants.services import agency_settings_update
from tests.factories import make_user
from tests.support import settings_form_data, verified_client

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tenants/agencysettings/"


def _change_url(agency) -> str:
    return f"/admin/tenants/agencysettings/{agency.pk}/change/"


@pytest.fixture
def admin_a(agency_a):
    return make_user(agency_a, roles=[Role.ADMINISTRATOR])


def test_administrator_lands_on_their_own_agency_settings(agency_a, admin_a):
    client = verified_client(agency_a, admin_a)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"] == _change_url(agency_a)
    page = client.get(_change_url(agency_a))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Retention (days)" in html
    assert 'max="30"' in html
    assert "Authorized purposes" in html  # the default policy, ready to edit
    assert client.get("/admin/").content.decode().count("Agency settings") >= 1


def test_administrator_changes_settings_and_the_change_is_logged(agency_a, admin_a):
    client = verified_client(agency_a, admin_a)
    response = client.post(
        _change_url(agency_a),
        settings_form_data(
            agency_a,
            retention_days=14,
            purge_hour=2,
            timezone="America/New_York",
            contact_name="Records Sergeant",
            contact_email="records@alpha.invalid",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    agency = Agency.objects.get(pk=agency_a.pk)
    assert (agency.retention_days, agency.purge_hour, agency.timezone) == (
        14,
        2,
        "America/New_York",
    )
    assert agency.policy_text == ""  # the untouched default stays the default
    assert agency.policy_updated_at is not None
    with schema_context(agency_a.schema_name):
        event = AccessEvent.objects.filter(action="settings_changed").latest("id")
    assert event.actor_username == admin_a.username
    assert event.details["changes"]["retention_days"] == {"from": 30, "to": 14}
    assert "policy_text" not in event.details["changes"]


def test_retention_above_30_is_refused_with_a_clear_message(agency_a, admin_a):
    client = verified_client(agency_a, admin_a)
    response = client.post(_change_url(agency_a), settings_form_data(agency_a, retention_days=31))
    assert response.status_code == 200
    assert "Retention must be between 1 and 30 days" in response.content.decode()
    assert Agency.objects.get(pk=agency_a.pk).retention_days == 30
    with schema_context(agency_a.schema_name):
        assert not AccessEvent.objects.filter(action="settings_changed").exists()

    response = client.post(_change_url(agency_a), settings_form_data(agency_a, retention_days=0))
    assert "Retention must be between 1 and 30 days" in response.content.decode()


def test_retention_above_30_is_refused_by_the_service_the_model_and_the_database(agency_a):
    with schema_context(agency_a.schema_name), pytest.raises(ValidationError) as refused:
        agency_settings_update(agency=agency_a, changes={"retention_days": 45})
    assert refused.value.message_dict["retention_days"] == [RETENTION_MESSAGE]
    agency_a.retention_days = 31
    with pytest.raises(ValidationError) as model_refused:
        agency_a.full_clean(exclude=["schema_name"], validate_unique=False)
    # The same plain message wherever the model is validated (platform admin, any API).
    assert model_refused.value.message_dict["retention_days"] == [RETENTION_MESSAGE]
    with transaction.atomic(), pytest.raises(IntegrityError):
        Agency.objects.filter(pk=agency_a.pk).update(retention_days=31)
    assert Agency.objects.get(pk=agency_a.pk).retention_days == 30


def test_policy_text_is_saved_and_unknown_settings_are_refused(agency_a):
    with schema_context(agency_a.schema_name):
        changed = agency_settings_update(
            agency=agency_a, changes={"policy_text": "## Our rules\r\nBe careful.\r\n"}
        )
        assert changed == ["policy_text"]
        assert agency_settings_update(agency=agency_a, changes={"retention_days": 30}) == []
        with pytest.raises(ValueError, match="Not an agency setting: name"):
            agency_settings_update(agency=agency_a, changes={"name": "Renamed"})
    agency = Agency.objects.get(pk=agency_a.pk)
    assert agency.policy_text == "## Our rules\nBe careful."
    assert agency.name == "Alpha County Sheriff"


def test_officers_and_auditors_cannot_open_the_settings(agency_a):
    for role in (Role.OFFICER, Role.AUDITOR):
        user = make_user(agency_a, roles=[role])
        user.is_staff = True  # even with admin-site access, the role decides
        with schema_context(agency_a.schema_name):
            user.save()
        client = verified_client(agency_a, user)
        assert client.get(_change_url(agency_a)).status_code in (302, 403)
        response = client.post(
            _change_url(agency_a), settings_form_data(agency_a, retention_days=5)
        )
        assert response.status_code in (302, 403)
    assert Agency.objects.get(pk=agency_a.pk).retention_days == 30


def test_an_administrator_cannot_reach_another_agencys_settings(agency_a, agency_b, admin_a):
    admin_b = make_user(agency_b, roles=[Role.ADMINISTRATOR])
    client_b = verified_client(agency_b, admin_b)
    assert client_b.get(_change_url(agency_a)).status_code == 404
    response = client_b.post(_change_url(agency_a), settings_form_data(agency_a, retention_days=3))
    assert response.status_code == 404
    assert Agency.objects.get(pk=agency_a.pk).retention_days == 30
    # No add or delete either.
    client_a = verified_client(agency_a, admin_a)
    assert client_a.get("/admin/tenants/agencysettings/add/").status_code == 403
    assert client_a.post(f"/admin/tenants/agencysettings/{agency_a.pk}/delete/").status_code == 403
