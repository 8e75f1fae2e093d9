"""manage.py purge_expired and verify_retention."""

from __future__ import annotations

import datetime
import io
import os

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from captures.models import Capture
from captures.retention.checks import verify_retention
from captures.retention.selectors import retention_cutoff
from captures.storage import image_files
from tests.factories import RETENTION_CAMERA, make_camera, make_stored_capture
from tests.support import mine, path_of

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def expired_data(agency_a, clock, now, storage_dir):
    camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
    cutoff = retention_cutoff(agency_a, now=now)
    old = [make_stored_capture(agency_a, camera, captured_at=cutoff - DAY * 2) for _ in range(2)]
    live = make_stored_capture(agency_a, camera, captured_at=now - DAY)
    with schema_context(agency_a.schema_name):
        orphan_old = image_files.store_image(day=old[0].key_day, data=b"no row")
        orphan_recent = image_files.store_image(day=live.key_day, data=b"no row either")
    two_hours_ago = (now - datetime.timedelta(hours=2)).timestamp()
    os.utime(path_of(storage_dir, agency_a, orphan_recent), (two_hours_ago, two_hours_ago))
    return old, live, orphan_old


def test_verify_fails_listing_counts_then_passes_after_the_purge(agency_a, expired_data):
    report = verify_retention(agency=agency_a)
    assert (report.expired_captures, report.expired_files, report.expired_orphan_files) == (2, 4, 1)
    assert report.live_expired_keys == 1
    assert report.recent_orphan_files == 1
    assert not report.ok

    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_retention", "--agency", "alpha", stdout=out)
    assert failure.value.returncode == 1
    assert "purge_expired" in str(failure.value)
    text = out.getvalue()
    assert "alpha: retention 30 days" in text
    assert "FAILED" in text
    assert "capture rows older than retention: 2" in text
    assert "image files of expired days named by a row: 4" in text
    assert "orphaned image files of expired days (no row): 1" in text
    assert "undestroyed data keys of expired days: 1" in text

    assert "alpha:" in _run("purge_expired", "--agency", "alpha")

    text = _run("verify_retention", "--agency", "alpha")
    assert "OK" in text
    assert "capture rows older than retention: 0" in text
    assert verify_retention(agency=agency_a).ok


def test_purge_command_dry_run_changes_nothing_then_purges(agency_a, expired_data):
    old, live, _ = expired_data
    text = _run("purge_expired", "--agency", "alpha", "--dry-run")
    assert "would delete 2 captures, 4 image files, 1 orphaned files; 1 day keys to destroy" in text
    with schema_context(agency_a.schema_name):
        assert mine().count() == 3

    text = _run("purge_expired", "--agency", "alpha")
    assert "deleted 2 captures, 4 image files, 1 orphaned files; 1 day keys destroyed" in text
    with schema_context(agency_a.schema_name):
        assert list(mine().values_list("pk", flat=True)) == [live.pk]


def test_commands_refuse_an_unknown_agency(db):
    for command in ("purge_expired", "verify_retention"):
        with pytest.raises(CommandError, match="No agency with the slug 'nowhere'"):
            call_command(command, "--agency", "nowhere", stdout=io.StringIO())


def test_purge_command_without_agency_covers_every_agency(agency_a, agency_b, clock, now):
    olds = {}
    for agency in (agency_a, agency_b):
        camera = make_camera(agency, prefix=RETENTION_CAMERA)
        olds[agency.slug] = make_stored_capture(agency, camera, captured_at=now - DAY * 45)
    text = _run("purge_expired")
    assert "alpha:" in text
    assert "bravo:" in text
    for agency in (agency_a, agency_b):
        with schema_context(agency.schema_name):
            assert not Capture.objects.filter(pk=olds[agency.slug].pk).exists()


def test_demo_hook_purges_and_reports_a_passing_check(agency_a, expired_data):
    from alpr_portal.demo import retention

    out = io.StringIO()
    retention.seed(agency=agency_a, stdout=out)
    text = out.getvalue()
    assert "Retention purge ran for alpha: 2 expired captures and 5 files deleted" in text
    assert "verify_retention for alpha: OK" in text
    with schema_context(agency_a.schema_name):
        from audit.models import AccessEvent

        assert AccessEvent.objects.filter(
            action="purge", actor_username="system:nightly-purge"
        ).exists()
