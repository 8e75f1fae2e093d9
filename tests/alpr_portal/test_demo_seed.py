import io

import pytest
from django_tenants.utils import schema_context

from alpr_portal.demo import people as demo_people
from audit.models import AccessEvent
from tenants.models import Agency
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
    demo_people.seed(agency=agency, stdout=io.StringIO())
    demo_people.seed(agency=agency, stdout=io.StringIO())
    with schema_context(agency_a.schema_name):
        from django.contrib.auth import get_user_model

        officer = get_user_model().objects.get(username="officer")
        assert training_is_current(officer)
        assert officer.training_records.count() == 1


def test_seed_demo_seeds_every_app_once_and_prints_how_to_sign_in(db, settings, tmp_path):
    """``make demo``'s seed: each app's step runs once, in order, and a rerun adds nothing."""
    from django.core.management import call_command

    from alpr_portal.demo import cameras as demo_cameras
    from captures.models import Capture, ProhibitedTerm
    from tenants.people.models import TrainingRecord

    settings.ALPR_STORAGE_DIR = tmp_path
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_cameras, "DEMO_CAPTURES", 3)
        call_command("seed_demo", "--port", "8123", stdout=out)
        again = io.StringIO()
        call_command("seed_demo", "--port", "8123", stdout=again)
    text = out.getvalue()
    expected = [
        "Training recorded for the demo users",
        "Hotlists: Demo state NCIC extract (",
        "Captures: sent 3 captures",
        "Search policy: ",
        "Demo access log: ",
        "Retention purge ran for demo: ",
        "verify_retention for demo: OK",
        "Demo agency ready: http://demo.localhost:8123/",
        "  officer    demo-officer-Passw0rd!  Officer",
        "Platform landing page: http://localhost:8123/",
    ]
    positions = [text.find(line) for line in expected]
    assert -1 not in positions, text
    assert positions == sorted(positions), text
    assert "answers 201: 3;" in text
    assert "Captures: 3 demo captures already there." in again.getvalue()
    assert "Demo access log: already seeded." in again.getvalue()
    agency = Agency.objects.get(slug="demo")
    with schema_context(agency.schema_name):
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.order_by("username")
        assert [u.username for u in users] == ["admin", "auditor", "officer"]
        created = AccessEvent.objects.filter(action="user_created", details__source="demo seed")
        assert sorted(e.details["username"] for e in created) == ["admin", "auditor", "officer"]
        assert TrainingRecord.objects.count() == 3
        assert Capture.objects.count() == 3
        assert ProhibitedTerm.objects.count() == 2
