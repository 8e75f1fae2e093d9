"""Held captures survive the purge (rows, files, day keys), stay out of ordinary reads, and go
the night after the hold ends or is lifted; verify_retention counts them accordingly."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from captures.holds.models import HeldCapture
from captures.holds.services import Who, hold_release
from captures.models import DataKey
from captures.retention import services as purge
from captures.retention.checks import verify_retention
from captures.retention.selectors import retention_cutoff, visible_captures
from captures.retention.services import purge_expired
from captures.storage import image_files
from tests.factories import RETENTION_CAMERA, make_camera, make_hold, make_stored_capture
from tests.support import files_of, mine, path_of

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def held_set(agency_a, clock, now, storage_dir):
    """Two captures of one expired day (one held), and one live capture."""
    camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
    cutoff = retention_cutoff(agency_a, now=now)
    held = make_stored_capture(agency_a, camera, captured_at=cutoff - DAY * 2)
    other = make_stored_capture(agency_a, camera, captured_at=cutoff - DAY * 2 + DAY / 4)
    # The hold is placed while both were still within retention (a day after they were taken).
    hold = make_hold(agency_a, [held], now=held.captured_at + DAY, days=60)
    return hold, held, other


def _present(agency) -> set:
    with schema_context(agency.schema_name):
        return set(mine().values_list("pk", flat=True))


def test_a_held_capture_survives_the_purge_with_its_files_and_day_key(
    agency_a, held_set, storage_dir
):
    hold, held, other = held_set
    result = purge_expired(agency=agency_a)

    assert result.captures_deleted == 1
    assert result.held_kept == 1
    assert _present(agency_a) == {held.pk}
    assert all(path_of(storage_dir, agency_a, n).exists() for n in files_of(held))
    assert not any(path_of(storage_dir, agency_a, n).exists() for n in files_of(other))
    with schema_context(agency_a.schema_name):
        assert image_files.load_image(held.plate_image).startswith(b"\x89PNG")
        assert DataKey.objects.get(day=held.key_day).destroyed_at is None
        # Past retention, it is not in ordinary reads (search, capture page, images).
        assert not visible_captures(agency_a).filter(pk=held.pk).exists()
        entry = AccessEvent.objects.filter(action=Action.PURGE).latest("id")
    assert entry.details["held_kept"] == 1
    assert result.complete  # nothing the purge should have taken is left


def test_the_purge_command_says_how_many_holds_kept(agency_a, held_set):
    out = io.StringIO()
    call_command("purge_expired", "--agency", "alpha", stdout=out)
    assert "deleted 1 captures" in out.getvalue()
    assert "1 expired captures kept by legal holds" in out.getvalue()


def test_verify_retention_counts_held_captures_as_kept_not_failed(agency_a, held_set):
    purge_expired(agency=agency_a)
    report = verify_retention(agency=agency_a)
    assert report.ok, report.lines()
    assert (report.held_captures, report.held_files) == (1, 2)
    assert report.live_expired_keys == 0
    out = io.StringIO()
    call_command("verify_retention", "--agency", "alpha", stdout=out)
    assert "under an active legal hold: 1, with 2 image files" in out.getvalue()


def test_a_lifted_hold_fails_verification_until_the_next_purge_takes_its_captures(
    agency_a, held_set, storage_dir
):
    hold, held, _ = held_set
    purge_expired(agency=agency_a)
    with schema_context(agency_a.schema_name):
        hold_release(who=Who(username="system:test"), hold_id=hold.pk, reason="Case dismissed")

    report = verify_retention(agency=agency_a)
    assert not report.ok
    assert (report.expired_captures, report.ended_hold_captures) == (1, 1)
    assert report.expired_files == 2
    with pytest.raises(CommandError):
        call_command("verify_retention", "--agency", "alpha", stdout=io.StringIO())

    result = purge_expired(agency=agency_a)
    assert (result.captures_deleted, result.held_kept) == (1, 0)
    assert _present(agency_a) == set()
    assert not any(path_of(storage_dir, agency_a, n).exists() for n in files_of(held))
    assert verify_retention(agency=agency_a).ok
    with schema_context(agency_a.schema_name):
        # The hold's record of what it held outlives the capture.
        assert HeldCapture.objects.filter(hold=hold, capture_id=held.pk).exists()
        assert DataKey.objects.get(day=held.key_day).destroyed_at is not None


def test_a_hold_past_its_end_date_no_longer_protects(agency_a, held_set, clock):
    hold, held, _ = held_set
    purge_expired(agency=agency_a)
    assert _present(agency_a) == {held.pk}
    clock.move_to(hold.ends_at - datetime.timedelta(seconds=1))
    assert purge_expired(agency=agency_a).held_kept == 1
    clock.move_to(hold.ends_at)
    result = purge_expired(agency=agency_a)
    assert result.captures_deleted == 1
    assert _present(agency_a) == set()


def test_dry_run_counts_only_what_would_go(agency_a, held_set):
    result = purge_expired(agency=agency_a, dry_run=True)
    assert (result.captures_deleted, result.files_deleted, result.held_kept) == (1, 2, 1)
    assert result.keys_destroyed == 0  # the held capture keeps its day's key
    assert len(_present(agency_a)) == 2


def test_a_hold_committed_after_the_batch_was_selected_is_still_respected(
    agency_a, held_set, monkeypatch
):
    """The batch asks for holds again once its rows are locked: a select made on a snapshot
    from before the hold committed (stood for here by ignoring holds) cannot delete it."""
    hold, held, other = held_set
    from captures.models import Capture

    monkeypatch.setattr(
        purge,
        "expired_unheld",
        lambda *, cutoff, now: Capture.objects.filter(captured_at__lte=cutoff),
    )
    result = purge_expired(agency=agency_a)
    assert result.captures_deleted == 1
    assert _present(agency_a) == {held.pk}


def test_other_agencies_holds_do_not_protect(agency_a, agency_b, clock, now):
    """A hold lives in its agency's schema: B's purge does not see A's holds."""
    camera_b = make_camera(agency_b, prefix=RETENTION_CAMERA)
    cutoff = retention_cutoff(agency_b, now=now)
    expired_b = make_stored_capture(agency_b, camera_b, captured_at=cutoff - DAY)
    camera_a = make_camera(agency_a, prefix=RETENTION_CAMERA)
    held_a = make_stored_capture(agency_a, camera_a, captured_at=cutoff - DAY)
    make_hold(agency_a, [held_a], now=held_a.captured_at + DAY / 2)
    assert purge_expired(agency=agency_b).captures_deleted == 1
    assert _present(agency_b) == set()
    assert expired_b.pk not in _present(agency_a)
    assert _present(agency_a) == {held_a.pk}
