"""The agency's policy editor shows the public page: as published, and with unsaved edits."""

from __future__ import annotations

import pytest

from audit.models import AccessEvent, Action
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_user
from tests.support import settings_form_data, verified_client

pytestmark = pytest.mark.django_db


def test_the_editor_shows_the_published_page_and_previews_edits_without_saving(agency_a, in_agency):
    client = verified_client(agency_a, make_user(agency_a, roles=[Role.ADMINISTRATOR]))
    url = f"/admin/tenants/agencysettings/{agency_a.pk}/change/"
    page = client.get(url).content.decode()
    assert 'data-testid="policy-preview"' in page
    assert f"{agency_a.retention_days} days" in page.split('data-testid="policy-preview"')[1]
    assert f"/admin/tenants/agencysettings/{agency_a.pk}/preview/" in page
    with in_agency(agency_a):
        before = AccessEvent.objects.filter(action=Action.SETTINGS_CHANGED).count()
    draft = "## Our rules\n\nWe keep reads for [retention_days] days. <script>x</script>"
    response = client.post(
        f"/admin/tenants/agencysettings/{agency_a.pk}/preview/",
        settings_form_data(agency_a, policy_text=draft, retention_days=7),
    )
    assert response.status_code == 200
    preview = response.content.decode()
    assert 'data-testid="policy-preview-note"' in preview
    assert "<h2>Our rules</h2>" in preview
    assert "We keep reads for 7 days." in preview
    assert "<script>x</script>" not in preview  # escaped like the published page
    assert "&lt;script&gt;" in preview
    saved = Agency.objects.get(pk=agency_a.pk)
    assert saved.policy_text == agency_a.policy_text  # nothing saved
    assert saved.retention_days == agency_a.retention_days
    with in_agency(agency_a):
        assert AccessEvent.objects.filter(action=Action.SETTINGS_CHANGED).count() == before


def test_a_preview_with_a_bad_value_names_it_and_other_agencies_get_404(agency_a, agency_b):
    client = verified_client(agency_a, make_user(agency_a, roles=[Role.ADMINISTRATOR]))
    response = client.post(
        f"/admin/tenants/agencysettings/{agency_a.pk}/preview/",
        settings_form_data(agency_a, retention_days=45),
    )
    assert response.status_code == 200
    assert "Retention" in response.content.decode().split("errorlist")[1][:400]
    other = client.post(
        f"/admin/tenants/agencysettings/{agency_b.pk}/preview/", settings_form_data(agency_b)
    )
    assert other.status_code == 404
    officer = verified_client(agency_a, make_user(agency_a, roles=[Role.OFFICER]))
    refused = officer.post(
        f"/admin/tenants/agencysettings/{agency_a.pk}/preview/", settings_form_data(agency_a)
    )
    assert refused.status_code in {302, 403}
    assert "policy-preview-note" not in refused.content.decode()
