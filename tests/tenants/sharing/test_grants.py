"""Grants: offer, accept, renew, revoke; the law profiles; every step in both logs, linked."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import Action
from tenants.models import Agency
from tenants.sharing.models import Grant
from tenants.sharing.selectors import grants_in_force, shared_with
from tenants.sharing.services import (
    GrantNotFound,
    SharingError,
    agency_today,
    grant_accept,
    grant_offer,
    grant_renew,
    grant_revoke,
    one_year_after,
)
from tests.support import NewRows

pytestmark = pytest.mark.django_db
NEW = NewRows()
events = NEW.events
grants = NEW.grants


@pytest.fixture(autouse=True)
def _only_this_tests_rows(agency_a, agency_b):
    NEW.mark(agency_a, agency_b)


def _set(agency: Agency, **values) -> Agency:
    Agency.objects.filter(pk=agency.pk).update(**values)
    agency.refresh_from_db()
    return agency


def _offer(a, b, **kw):
    kw.setdefault("ends_on", agency_today(a) + datetime.timedelta(days=30))
    return grant_offer(owner=a, recipient=b, username="chief-a", **kw)


def _linked(a, b, action):
    """The one entry of ``action`` in each log, checked to name each other."""
    (in_a,) = events(a, action=action)
    (in_b,) = events(b, action=action)
    assert {"agency": b.slug, "event_id": in_b.pk} in in_a.details["links"]
    assert {"agency": a.slug, "event_id": in_a.pk} in in_b.details["links"]
    return in_a, in_b


def test_offer_then_accept_puts_the_grant_in_force_and_logs_both_sides(agency_a, agency_b):
    grant = _offer(agency_a, agency_b)
    assert grant.status == Grant.Status.OFFERED
    assert grants_in_force(recipient=agency_b) == []
    in_a, in_b = _linked(agency_a, agency_b, Action.SHARE_OFFERED)
    assert in_a.actor_username == "chief-a"
    assert in_b.actor_username == "alpha:chief-a"
    assert in_b.details["grant_id"] == grant.pk
    assert in_b.details["agencies"] == ["alpha"]

    grant_accept(agency=agency_b, grant_id=grant.pk, username="chief-b")
    assert [g.pk for g in grants_in_force(recipient=agency_b)] == [grant.pk]
    assert [g.pk for g in shared_with(owner=agency_a)] == [grant.pk]
    acc_a, acc_b = _linked(agency_a, agency_b, Action.SHARE_ACCEPTED)
    assert acc_a.actor_username == "bravo:chief-b"
    assert acc_b.actor_username == "chief-b"


def test_revocation_takes_effect_at_once_and_is_logged_both_sides(agency_a, agency_b):
    grant = _offer(agency_a, agency_b)
    grant_accept(agency=agency_b, grant_id=grant.pk, username="chief-b")
    grant_revoke(agency=agency_a, grant_id=grant.pk, reason="MOU ended", username="chief-a")
    assert grants_in_force(recipient=agency_b) == []
    in_a, in_b = _linked(agency_a, agency_b, Action.SHARE_REVOKED)
    assert in_b.reason == "MOU ended"
    with pytest.raises(SharingError):
        grant_revoke(agency=agency_a, grant_id=grant.pk, username="chief-a")


def test_renewal_moves_the_end_and_is_logged_both_sides(agency_a, agency_b):
    grant = _offer(agency_a, agency_b)
    grant_accept(agency=agency_b, grant_id=grant.pk, username="chief-b")
    later = agency_today(agency_a) + datetime.timedelta(days=200)
    renewed = grant_renew(agency=agency_a, grant_id=grant.pk, ends_on=later, username="chief-a")
    assert renewed.ends_on == later
    assert renewed.renewals == 1
    in_a, _ = _linked(agency_a, agency_b, Action.SHARE_RENEWED)
    assert in_a.details["ends_on"] == later.isoformat()


def test_end_date_at_most_a_year_and_not_past(agency_a, agency_b):
    today = agency_today(agency_a)
    with pytest.raises(SharingError, match="at most one year"):
        _offer(agency_a, agency_b, ends_on=one_year_after(today) + datetime.timedelta(days=1))
    with pytest.raises(SharingError, match="has passed"):
        _offer(agency_a, agency_b, ends_on=today - datetime.timedelta(days=1))
    assert not grants().exists()
    assert events(agency_a, action=Action.SHARE_OFFERED) == []


def test_days_back_within_the_owners_retention(agency_a, agency_b):
    _set(agency_a, retention_days=10)
    with pytest.raises(SharingError, match="1 to 10 days"):
        _offer(agency_a, agency_b, days_back=20)
    assert _offer(agency_a, agency_b).days_back == 10


def test_one_live_grant_per_pair(agency_a, agency_b):
    _offer(agency_a, agency_b)
    with pytest.raises(SharingError, match="renew or revoke"):
        _offer(agency_a, agency_b)


def test_only_the_recipient_accepts_and_only_the_owner_revokes(agency_a, agency_b):
    grant = _offer(agency_a, agency_b)
    with pytest.raises(GrantNotFound):
        grant_accept(agency=agency_a, grant_id=grant.pk, username="x")
    with pytest.raises(GrantNotFound):
        grant_revoke(agency=agency_b, grant_id=grant.pk, username="x")
    with pytest.raises(GrantNotFound):
        grant_accept(agency=agency_b, grant_id="nonsense", username="x")


def test_california_refuses_an_out_of_state_recipient(agency_a, agency_b):
    _set(agency_a, jurisdiction="CA", share_law_profile="california")
    _set(agency_b, jurisdiction="NV")
    with pytest.raises(SharingError, match="only with agencies in CA; Bravo City Police is in NV"):
        _offer(agency_a, agency_b)
    assert not grants().exists()
    _set(agency_b, jurisdiction="CA")
    assert _offer(agency_a, agency_b).law_profile == "california"


def test_california_refuses_a_private_recipient(agency_a, agency_b):
    _set(agency_a, jurisdiction="CA", share_law_profile="california")
    _set(agency_b, jurisdiction="CA", public_agency=False)
    with pytest.raises(SharingError, match="public agencies only"):
        _offer(agency_a, agency_b)


def test_permissive_default_allows_out_of_state(agency_a, agency_b):
    _set(agency_a, jurisdiction="CA")
    _set(agency_b, jurisdiction="TX", public_agency=False)
    assert _offer(agency_a, agency_b).law_profile == "default"


def test_acceptance_checks_the_law_again(agency_a, agency_b):
    grant = _offer(agency_a, agency_b)
    _set(agency_a, jurisdiction="WA", share_law_profile="washington")
    _set(agency_b, public_agency=False)
    with pytest.raises(SharingError, match="public agencies only"):
        grant_accept(agency=agency_b, grant_id=grant.pk, username="chief-b")
    assert Grant.objects.get(pk=grant.pk).accepted_at is None


# --- the commands ---------------------------------------------------------------------


def test_commands_offer_accept_revoke(agency_a, agency_b, capsys):
    until = (agency_today(agency_a) + datetime.timedelta(days=60)).isoformat()
    call_command("share_offer", "--from", "alpha", "--to", "bravo", "--until", until)
    out = capsys.readouterr().out.strip()
    assert out.startswith("grant_id=")
    grant_id = out.split("=", 1)[1]
    call_command("share_accept", "--agency", "bravo", grant_id)
    assert Grant.objects.get(pk=grant_id).status == Grant.Status.ACTIVE
    call_command("share_revoke", "--agency", "alpha", grant_id)
    assert Grant.objects.get(pk=grant_id).status == Grant.Status.REVOKED
    offered = events(agency_b, action=Action.SHARE_OFFERED)
    assert offered[0].actor_username == "alpha:command:share_offer"


def test_offer_command_with_cameras_and_refusals(agency_a, agency_b, capsys):
    from tests.factories import make_camera

    camera = make_camera(agency_a)
    until = (agency_today(agency_a) + datetime.timedelta(days=60)).isoformat()
    call_command(
        "share_offer",
        "--from",
        "alpha",
        "--to",
        "bravo",
        "--until",
        until,
        "--cameras",
        camera.name,
    )
    grant = grants().get()
    assert grant.camera_ids == [camera.pk]
    assert not grant.all_cameras
    with pytest.raises(CommandError, match="no camera"):
        call_command(
            "share_offer", "--from", "bravo", "--to", "alpha", "--until", until, "--cameras", "x9"
        )
    with pytest.raises(CommandError, match="not a date"):
        call_command("share_offer", "--from", "bravo", "--to", "alpha", "--until", "soon")
    with pytest.raises(CommandError, match="No agency"):
        call_command("share_accept", "--agency", "nowhere", str(grant.pk))
    with pytest.raises(CommandError, match="No grant"):
        call_command("share_revoke", "--agency", "bravo", str(grant.pk))
