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


def test_seed_demo_seeds_every_app_once_and_writes_how_to_sign_in(db, settings, tmp_path):
    """``make demo``'s seed: each app's step runs once, in order, and a rerun adds nothing; the
    sign-in details go to a file only its owner can read."""
    from django.core.management import call_command

    from alpr_portal.demo import cameras as demo_cameras
    from alpr_portal.demo import reviews as demo_reviews
    from captures.models import Capture, ProhibitedTerm
    from tenants.models import Domain
    from tenants.people.models import EncryptedTOTPDevice, TrainingRecord

    settings.ALPR_STORAGE_DIR = tmp_path
    sign_in = tmp_path / "var" / "demo-sign-in.txt"
    out, later = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_cameras, "DEMO_CAPTURES", 3)
        patch.setattr(demo_reviews, "DEMO_READ", 3)
        args = ["seed_demo", "--port", "8123", "--sign-in-file", str(sign_in)]
        # As `make demo` runs it: what the first pages need, then (portal up) the rest.
        call_command(*args, "--part", "first", stdout=out)
        first_file = sign_in.read_text()
        with schema_context("demo"):
            assert not Capture.objects.exists()  # the captures come with the rest
        sign_in.unlink()
        call_command(*args, "--part", "rest", stdout=later)
        assert not sign_in.exists()  # written by the first part only
        again = io.StringIO()
        call_command(*args, stdout=again)  # everything, in order: nothing to add
    text = out.getvalue()
    expected = [
        "Training recorded for the demo users",
        "Hotlists: Demo state NCIC extract (",
        "Search policy: ",
        "Demo access log: ",
        f"Demo agency ready. How to sign in: {sign_in}",
    ]
    positions = [text.find(line) for line in expected]
    assert -1 not in positions, text
    assert positions == sorted(positions), text
    text = later.getvalue()
    expected = [
        "Captures: sent 3 captures",
        "Reviewed reads: 3 read by the plate reader",
        "Sharing: Neighbor County Sheriff (6 reads) shares with Demo Police Department",
        "Retention purge ran for demo: ",
        "verify_retention for demo: OK",
        "Demo captures and reviewed reads ready.",
    ]
    positions = [text.find(line) for line in expected]
    assert -1 not in positions, text
    assert positions == sorted(positions), text
    assert "answers 201: 3;" in text
    assert "demo-officer-Passw0rd!" not in text  # the passwords are in the file only
    assert sign_in.stat().st_mode & 0o777 == 0o600
    for line in [
        "Open http://demo.localhost:8123/",
        "  officer    demo-officer-Passw0rd!  Officer",
        "  platform   demo-platform-Passw0rd! platform staff",
        "manage.py demo_code --user officer",
        "Platform landing page: http://localhost:8123/ (also http://127.0.0.1:8123/)",
    ]:
        assert line in first_file, first_file
    assert "0.0.0.0" not in first_file  # noqa: S104 - the address to open, not the bind one
    assert "Captures: 3 demo captures already there." in again.getvalue()
    assert "Reviewed reads: already there." in again.getvalue()
    assert "Demo access log: already seeded." in again.getvalue()
    # The bare address is the platform's too, and platform staff can sign in there.
    assert Domain.objects.get(domain="127.0.0.1").tenant.schema_name == "public"
    from django.contrib.auth import get_user_model

    with schema_context("public"):
        staff = get_user_model().objects.get(username="platform")
        assert staff.is_staff
        assert staff.is_superuser
    agency = Agency.objects.get(slug="demo")
    assert agency.contact_name.startswith("Lt. ")
    with schema_context(agency.schema_name):
        users = get_user_model().objects.order_by("username")
        assert [u.username for u in users] == ["admin", "auditor", "officer"]
        created = AccessEvent.objects.filter(action="user_created", details__source="demo seed")
        assert sorted(e.details["username"] for e in created) == ["admin", "auditor", "officer"]
        devices = EncryptedTOTPDevice.objects.filter(confirmed=True)
        assert sorted(devices.values_list("user__username", flat=True)) == [
            "admin",
            "auditor",
            "officer",
        ]
        assert TrainingRecord.objects.count() == 3
        assert Capture.objects.count() == 3
        assert not Capture.objects.filter(status=Capture.Status.PENDING).exists()
        assert (
            AccessEvent.objects.filter(action="review_session", actor_username="officer").count()
            == 1
        )
        assert ProhibitedTerm.objects.count() == 2
    _assert_neighbor_shares_with(agency, again.getvalue())


def _assert_neighbor_shares_with(agency: Agency, rerun: str) -> None:
    """The second agency: its reads of the demo's regulars, stored through the intake with
    images, shared with the demo agency under an accepted grant; a rerun adds nothing."""
    from audit.models import Action
    from captures.models import Capture
    from captures.synthetic import simulate
    from tenants.sharing.selectors import grants_in_force

    (grant,) = grants_in_force(recipient=agency)
    neighbor = grant.owner
    assert neighbor.slug == "neighbor"
    assert "Sharing: Neighbor County Sheriff (6 reads)" in rerun
    regulars = sorted(text for _, text in simulate.regular_plates(seed=2026))
    with schema_context(neighbor.schema_name):
        reads = Capture.objects.filter(status=Capture.Status.READ)
        assert reads.count() == 6
        assert sorted(set(reads.values_list("plate", flat=True))) == regulars
        assert all(read.plate_image and read.vehicle_image for read in reads)
        offer = AccessEvent.objects.get(action=Action.SHARE_OFFERED)
        accept = AccessEvent.objects.get(action=Action.SHARE_ACCEPTED)
    with schema_context(agency.schema_name):
        assert AccessEvent.objects.filter(action=Action.SHARE_OFFERED).count() == 1
        mine = AccessEvent.objects.get(action=Action.SHARE_ACCEPTED)
    assert {"agency": "neighbor", "event_id": accept.pk} in mine.details["links"]
    assert offer.details["recipient"] == "demo"
