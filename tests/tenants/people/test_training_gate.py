"""Training gate: lapsed training blocks plate data; a refresher recorded in the admin unblocks."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from django.urls import NoReverseMatch, reverse
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from tenants.models import Agency
from tenants.people import services
from tenants.people.models import TrainingRecord
from tenants.people.roles import Role
from tenants.sharing.services import agency_today
from tests.factories import make_user
from tests.support import verified_client

pytestmark = pytest.mark.django_db


def _today() -> datetime.date:
    """The test agency's today: the admin judges dates in the agency's time zone, whose day
    differs from UTC's for hours every night."""
    return agency_today(Agency.objects.get(slug="alpha"))


@pytest.fixture
def probe_urls(settings):
    settings.ROOT_URLCONF = "tests.tenants.people.probe_urls"


def _gated_paths() -> list[str]:
    paths = ["/probe/plate-data/"]
    with contextlib.suppress(NoReverseMatch):
        paths.append(reverse("captures:search"))  # the real search, once it exists
    return paths


def _admin_post_training(client, user, record, *, new: dict | None) -> None:
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": user.email,
        "is_active": "on",
        "roles": ["Officer"],
        "training_records-TOTAL_FORMS": "2",
        "training_records-INITIAL_FORMS": "1",
        "training_records-MIN_NUM_FORMS": "0",
        "training_records-MAX_NUM_FORMS": "1000",
        "training_records-0-id": str(record.pk),
        "training_records-0-user": str(user.pk),
        "training_records-0-kind": record.kind,
        "training_records-0-completed_on": record.completed_on.isoformat(),
        "training_records-0-trainer": record.trainer,
        "training_records-0-notes": "",
        "training_records-1-user": str(user.pk),
    }
    for key, value in (new or {}).items():
        data[f"training_records-1-{key}"] = value
    response = client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]


def test_lapsed_training_blocks_search_and_a_refresher_unblocks(agency_a, probe_urls):
    officer = make_user(agency_a, trained=False)
    with schema_context(agency_a.schema_name):
        record = services.training_record_add(
            user=officer,
            kind=TrainingRecord.Kind.INITIAL,
            completed_on=_today() - datetime.timedelta(days=400),
            trainer="Academy",
        )
    client = verified_client(agency_a, officer)
    for path in _gated_paths():
        blocked = client.get(path)
        assert blocked.status_code == 403
        assert b"Training required" in blocked.content
        assert b"Ask your agency" in blocked.content
        assert b"plate data" not in blocked.content

    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    admin_client = verified_client(agency_a, administrator)
    _admin_post_training(
        admin_client,
        officer,
        record,
        new={"kind": "refresher", "completed_on": _today().isoformat(), "trainer": "Sgt. Diaz"},
    )
    assert client.get("/probe/plate-data/").content == b"plate data"
    with schema_context(agency_a.schema_name):
        event = AccessEvent.objects.get(action="training_changed", actor_id=administrator.pk)
        assert event.details["kind"] == "refresher"
        assert event.details["username"] == officer.username


def test_no_initial_training_blocks_and_future_dates_are_refused(agency_a, probe_urls):
    officer = make_user(agency_a, trained=False)
    client = verified_client(agency_a, officer)
    assert client.get("/probe/plate-data/").status_code == 403
    # A refresher alone is not enough: the initial training must be on record.
    with schema_context(agency_a.schema_name):
        record = services.training_record_add(
            user=officer, kind="refresher", completed_on=_today(), trainer="Unit"
        )
    assert client.get("/probe/plate-data/").status_code == 403

    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    admin_client = verified_client(agency_a, administrator)
    future = (_today() + datetime.timedelta(days=3)).isoformat()
    data_new = {"kind": "initial", "completed_on": future, "trainer": "Unit"}
    response = admin_client.post(
        f"/admin/auth/user/{officer.pk}/change/",
        {
            "username": officer.username,
            "email": officer.email,
            "is_active": "on",
            "roles": ["Officer"],
            "training_records-TOTAL_FORMS": "2",
            "training_records-INITIAL_FORMS": "1",
            "training_records-MIN_NUM_FORMS": "0",
            "training_records-MAX_NUM_FORMS": "1000",
            "training_records-0-id": str(record.pk),
            "training_records-0-user": str(officer.pk),
            "training_records-0-kind": "refresher",
            "training_records-0-completed_on": _today().isoformat(),
            "training_records-0-trainer": "Unit",
            **{f"training_records-1-{k}": v for k, v in data_new.items()},
        },
    )
    assert response.status_code == 200
    assert b"cannot be completed in the future" in response.content
    assert client.get("/probe/plate-data/").status_code == 403


def test_untrained_user_may_still_sign_in_and_see_why(agency_a):
    officer = make_user(agency_a, trained=False)
    client = verified_client(agency_a, officer)
    assert client.get("/").status_code == 200
    account = client.get("/accounts/me/")
    assert b"No initial training is recorded" in account.content


def test_administrators_see_who_is_due_within_30_days(agency_a, agency_b):
    def trained(days_ago: int):
        user = make_user(agency_a, trained=False)
        with schema_context(agency_a.schema_name):
            TrainingRecord.objects.create(
                user=user,
                kind="initial",
                completed_on=_today() - datetime.timedelta(days=days_ago),
                trainer="Academy",
            )
        return user

    lapsed, due_soon, current = trained(400), trained(350), trained(30)
    missing = make_user(agency_a, trained=False)
    other_agency = make_user(agency_b, trained=False)
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, administrator)

    page = client.get("/accounts/training-due/").content.decode()
    for user in (lapsed, due_soon, missing):
        assert f">{user.username}<" in page
    assert f">{current.username}<" not in page
    assert f">{other_agency.username}<" not in page

    listing = client.get("/admin/auth/user/?training=due_soon").content.decode()
    assert f">{due_soon.username}<" in listing
    assert f">{lapsed.username}<" not in listing
    assert f">{current.username}<" not in listing
    attention = client.get("/admin/auth/user/?training=attention").content.decode()
    for user in (lapsed, due_soon, missing):
        assert f">{user.username}<" in attention
    assert f">{current.username}<" not in attention

    officer_client = verified_client(agency_a, current)
    assert officer_client.get("/accounts/training-due/").status_code == 403
