import io

import pytest
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.people.demo import seed_demo
from tenants.people.training import training_is_current
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_demo_officer_has_current_training_and_reseeding_adds_nothing(agency_a):
    # The demo seeder works on any agency that has the demo usernames.
    for name in ("officer", "auditor"):
        with schema_context(agency_a.schema_name):
            from django.contrib.auth import get_user_model

            get_user_model().objects.filter(username=name).delete()
        make_user(agency_a, username=name, trained=False)
    agency = Agency.objects.get(pk=agency_a.pk)
    seed_demo(agency=agency, stdout=io.StringIO())
    seed_demo(agency=agency, stdout=io.StringIO())
    with schema_context(agency_a.schema_name):
        from django.contrib.auth import get_user_model

        officer = get_user_model().objects.get(username="officer")
        assert training_is_current(officer)
        assert officer.training_records.count() == 1
