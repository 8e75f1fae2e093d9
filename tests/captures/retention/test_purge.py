"""The retention purge: boundaries, rows and files, reruns, crashes, day keys, access log."""

from __future__ import annotations

import datetime

import pytest
from django_tenants.utils import schema_context

from audit.models import AccessEvent
from captures.models import Capture, DataKey, Review
from captures.retention import services as purge
from captures.retention.selectors import retention_cutoff, visible_captures
from captures.retention.services import purge_expired
from captures.storage import image_files
from tests.factories import RETENTION_CAMERA, make_camera, make_stored_capture
from tests.support import files_of, mine, path_of

pytestmark = pytest.mark.django_db

SECOND = datetime.timedelta(seconds=1)
# The ``now`` fixture's day: keys of later days belong to tests that commit at the real time.
FROZEN_DAY = datetime.date(2026, 11, 20)
DAY = datetime.timedelta(days=1)


class Crash(Exception):
    """Stands for the process dying at a checkpoint."""


def _state(agency, storage_dir) -> dict:
    """Everything the end state of a purge is judged by."""
    with schema_context(agency.schema_name):
        root = storage_dir / agency.schema_name
        return {
            "captures": set(mine().values_list("pk", flat=True)),
            "reviews": Review.objects.filter(capture__in=mine()).count(),
            "files": sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
            if root.exists()
            else [],
            "folders": sorted(p.name for p in root.iterdir()) if root.exists() else [],
            "live_keys": set(
                DataKey.objects.filter(destroyed_at__isnull=True, day__lte=FROZEN_DAY).values_list(
                    "day", flat=True
                )
            ),
        }


def test_one_second_younger_is_kept_one_second_older_is_deleted(agency_a, clock, now, storage_dir):
    camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
    cutoff = retention_cutoff(agency_a, now=now)
    younger = make_stored_capture(agency_a, camera, captured_at=cutoff + SECOND)
    at_cutoff = make_stored_capture(agency_a, camera, captured_at=cutoff)
    older = make_stored_capture(agency_a, camera, captured_at=cutoff - SECOND)

    with schema_context(agency_a.schema_name):
        assert set(
            visible_captures(agency_a).filter(pk__in=mine()).values_list("pk", flat=True)
        ) == {younger.pk}
    result = purge_expired(agency=agency_a)

    assert result.cutoff == cutoff
    assert result.captures_deleted == 2
    with schema_context(agency_a.schema_name):
        assert set(mine().values_list("pk", flat=True)) == {younger.pk}
        assert image_files.load_image(younger.plate_image).startswith(b"\x89PNG")
    for gone in (at_cutoff, older):
        assert not any(path_of(storage_dir, agency_a, n).exists() for n in files_of(gone))

    # One second later the kept capture is exactly at the cutoff: now it goes.
    clock.shift(SECOND)
    assert purge_expired(agency=agency_a).captures_deleted == 1
    with schema_context(agency_a.schema_name):
        assert not mine().exists()


def test_purge_deletes_rows_files_reviews_and_a_second_run_deletes_nothing(
    agency_a, agency_b, clock, now, storage_dir
):
    camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
    cutoff = retention_cutoff(agency_a, now=now)
    expired = [
        make_stored_capture(agency_a, camera, captured_at=cutoff - DAY * 3, reviewed=True),
        make_stored_capture(agency_a, camera, captured_at=cutoff - DAY * 3 + SECOND * 5),
        make_stored_capture(agency_a, camera, captured_at=cutoff - SECOND * 30, reviewed=True),
    ]
    live = make_stored_capture(agency_a, camera, captured_at=now - DAY, reviewed=True)
    # Agency B's equally old capture is not agency A's purge's business.
    b_old = make_stored_capture(
        agency_b, make_camera(agency_b, prefix=RETENTION_CAMERA), captured_at=cutoff - DAY * 3
    )

    result = purge_expired(agency=agency_a, batch_size=2)

    assert result.captures_deleted == 3
    assert result.files_deleted == 6
    assert result.related_deleted["captures.review"] == 2
    assert result.batches == 2
    assert result.complete
    for capture in expired:
        for name in files_of(capture):
            assert not path_of(storage_dir, agency_a, name).exists()
    with schema_context(agency_a.schema_name):
        assert list(mine().values_list("pk", flat=True)) == [live.pk]
        assert list(
            Review.objects.filter(capture__in=mine()).values_list("capture_id", flat=True)
        ) == [live.pk]
        assert image_files.load_image(live.vehicle_image).startswith(b"\x89PNG")
        event = AccessEvent.objects.filter(action="purge").latest("id")
    assert event.outcome == "allowed"
    assert event.details["cutoff"] == cutoff.isoformat()
    assert event.details["captures_deleted"] == 3
    assert event.details["files_deleted"] == 6
    assert "duration_seconds" in event.details
    serialized = str(event.details) + str(event.query) + str(event.objects_touched)
    for capture in [*expired, live]:
        assert capture.plate not in serialized
    with schema_context(agency_b.schema_name):
        assert Capture.objects.filter(pk=b_old.pk).exists()
        assert not AccessEvent.objects.filter(action="purge", occurred_at=now).exists()

    before = _state(agency_a, storage_dir)
    again = purge_expired(agency=agency_a)
    assert (again.captures_deleted, again.files_deleted, again.orphan_files_deleted) == (0, 0, 0)
    assert again.keys_destroyed == 0
    assert _state(agency_a, storage_dir) == before


def test_expired_day_key_is_destroyed_and_the_day_folder_swept(agency_a, clock, now, storage_dir):
    camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
    cutoff = retention_cutoff(agency_a, now=now)
    old_day_capture = make_stored_capture(agency_a, camera, captured_at=cutoff - DAY * 2)
    boundary_expired = make_stored_capture(agency_a, camera, captured_at=cutoff - SECOND)
    boundary_live = make_stored_capture(agency_a, camera, captured_at=cutoff + SECOND)
    old_day = old_day_capture.key_day
    # Leftovers of a failed upload in the old day: a file no row names, and a temporary part.
    with schema_context(agency_a.schema_name):
        orphan = image_files.store_image(day=old_day, data=b"never got a row")
    (storage_dir / agency_a.schema_name / old_day.isoformat() / ".tmp-x.part").write_bytes(b"x")

    result = purge_expired(agency=agency_a)

    assert result.orphan_files_deleted == 2
    assert result.keys_destroyed == 1
    assert not (storage_dir / agency_a.schema_name / old_day.isoformat()).exists()
    assert not path_of(storage_dir, agency_a, orphan).exists()
    with schema_context(agency_a.schema_name):
        key = DataKey.objects.get(day=old_day)
        assert key.destroyed_at is not None
        assert key.wrapped_key is None
        # The boundary day still holds a live capture: its key must stay.
        assert boundary_expired.key_day == boundary_live.key_day
        assert DataKey.objects.get(day=boundary_live.key_day).destroyed_at is None
        assert image_files.load_image(boundary_live.plate_image)


def test_a_backup_copy_of_a_purged_day_cannot_be_decrypted(agency_a, clock, now, storage_dir):
    camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
    capture = make_stored_capture(agency_a, camera, captured_at=now - DAY * 40)
    path = path_of(storage_dir, agency_a, capture.plate_image)
    backup = path.read_bytes()

    purge_expired(agency=agency_a)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(backup)  # restored from a backup
    with schema_context(agency_a.schema_name), pytest.raises(image_files.ImageDecryptError):
        image_files.load_image(capture.plate_image)


def _scenario(agency, now):
    camera = make_camera(agency, prefix=RETENTION_CAMERA)
    cutoff = retention_cutoff(agency, now=now)
    expired = [
        make_stored_capture(
            agency, camera, captured_at=cutoff - DAY * 2 + SECOND * i, reviewed=i == 0
        )
        for i in range(5)
    ]
    live = [make_stored_capture(agency, camera, captured_at=now - DAY, reviewed=True)]
    return expired, live


def _expected_end_state(expired, live, agency, storage_dir):
    state = _state(agency, storage_dir)
    assert state["captures"] == {c.pk for c in live}
    assert state["reviews"] == 1
    assert state["files"] == sorted(n for c in live for n in files_of(c))
    assert state["live_keys"] == {c.key_day for c in live}
    assert expired[0].key_day not in state["live_keys"]
    return state


def test_crash_between_batches_resumes_to_the_same_end_state(
    agency_a, clock, now, storage_dir, monkeypatch
):
    expired, live = _scenario(agency_a, now)
    batches = []

    def crash_after_first_batch(name):
        if name == "batch_committed":
            batches.append(name)
            raise Crash

    monkeypatch.setattr(purge, "_checkpoint", crash_after_first_batch)
    with pytest.raises(Crash):
        purge_expired(agency=agency_a, batch_size=2)
    with schema_context(agency_a.schema_name):
        assert mine().count() == 4  # the first batch of two was committed
        assert (
            AccessEvent.objects.filter(action="purge", outcome="failed", occurred_at=now).count()
            == 1
        )

    monkeypatch.setattr(purge, "_checkpoint", lambda name: None)
    result = purge_expired(agency=agency_a, batch_size=2)
    assert result.captures_deleted == 3
    _expected_end_state(expired, live, agency_a, storage_dir)


def test_crash_between_file_and_row_deletion_resumes_to_the_same_end_state(
    agency_a, clock, now, storage_dir, monkeypatch
):
    expired, live = _scenario(agency_a, now)

    def crash_after_files(name):
        if name == "files_deleted":
            raise Crash

    monkeypatch.setattr(purge, "_checkpoint", crash_after_files)
    with pytest.raises(Crash):
        purge_expired(agency=agency_a, batch_size=10)
    with schema_context(agency_a.schema_name):
        # The row deletion was rolled back; the files were already gone. The rows are past
        # retention, so nothing shows them meanwhile.
        assert mine().count() == 6
        assert not visible_captures(agency_a).filter(pk__in=[c.pk for c in expired]).exists()
    assert not any(path_of(storage_dir, agency_a, n).exists() for c in expired for n in files_of(c))

    monkeypatch.setattr(purge, "_checkpoint", lambda name: None)
    result = purge_expired(agency=agency_a)
    assert result.captures_deleted == 5
    assert result.files_deleted == 0  # already gone
    _expected_end_state(expired, live, agency_a, storage_dir)


def test_crash_while_sweeping_days_resumes(agency_a, clock, now, storage_dir, monkeypatch):
    expired, live = _scenario(agency_a, now)
    monkeypatch.setattr(purge, "_checkpoint", lambda name: _raise_on(name, "day_swept"))
    with pytest.raises(Crash):
        purge_expired(agency=agency_a)
    monkeypatch.setattr(purge, "_checkpoint", lambda name: None)
    purge_expired(agency=agency_a)
    _expected_end_state(expired, live, agency_a, storage_dir)


def _raise_on(name, target):
    if name == target:
        raise Crash


def test_dry_run_counts_and_changes_nothing(agency_a, clock, now, storage_dir):
    expired, live = _scenario(agency_a, now)
    before = _state(agency_a, storage_dir)

    result = purge_expired(agency=agency_a, dry_run=True)

    assert (result.captures_deleted, result.files_deleted, result.keys_destroyed) == (5, 10, 1)
    assert result.orphan_files_deleted == 0
    assert _state(agency_a, storage_dir) == before
    with schema_context(agency_a.schema_name):
        assert not AccessEvent.objects.filter(action="purge", occurred_at=now).exists()


def test_time_budget_stops_between_batches_and_a_rerun_finishes(agency_a, clock, now, storage_dir):
    expired, live = _scenario(agency_a, now)
    partial = purge_expired(agency=agency_a, batch_size=2, max_seconds=0)
    assert not partial.complete
    assert partial.budget_exhausted
    assert partial.remaining == 3
    assert partial.captures_deleted == 2
    assert partial.keys_destroyed == 0
    purge_expired(agency=agency_a, batch_size=2)
    _expected_end_state(expired, live, agency_a, storage_dir)


def test_lowering_retention_hides_at_query_time_before_any_purge(agency_a, clock, now):
    from tenants.services import agency_settings_update

    camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
    ten_days = make_stored_capture(agency_a, camera, captured_at=now - DAY * 10)
    two_days = make_stored_capture(agency_a, camera, captured_at=now - DAY * 2)
    with schema_context(agency_a.schema_name):
        assert visible_captures(agency_a).filter(pk=ten_days.pk).exists()
        agency_settings_update(agency=agency_a, changes={"retention_days": 7})
        assert list(
            visible_captures(agency_a).filter(pk__in=mine()).values_list("pk", flat=True)
        ) == [two_days.pk]
        assert Capture.objects.filter(pk=ten_days.pk).exists()  # not purged yet, only hidden
    assert purge_expired(agency=agency_a).captures_deleted == 1


def test_change_history_of_purged_captures_goes_with_them(agency_a, clock, now):
    """django-auditlog keeps old values of a capture (its plate): purged with the capture."""
    from auditlog.models import LogEntry
    from auditlog.registry import auditlog
    from django.contrib.contenttypes.models import ContentType

    registered_here = [m for m in (Capture, Review) if not auditlog.contains(m)]
    for model in registered_here:
        auditlog.register(model)
    try:
        camera = make_camera(agency_a, prefix=RETENTION_CAMERA)
        old = make_stored_capture(
            agency_a, camera, captured_at=now - DAY * 40, plate="HIST001", reviewed=True
        )
        live = make_stored_capture(agency_a, camera, captured_at=now - DAY, plate="HIST002")
        with schema_context(agency_a.schema_name):
            review_type = ContentType.objects.get_for_model(Review)
            old_review = Review.objects.get(capture=old)
            assert LogEntry.objects.filter(
                content_type=review_type, object_pk=str(old_review.pk)
            ).exists()
            content_type = ContentType.objects.get_for_model(Capture)
            for capture in (old, live):
                LogEntry.objects.create(
                    content_type=content_type,
                    object_pk=str(capture.pk),
                    object_repr=capture.plate,
                    action=LogEntry.Action.UPDATE,
                    changes={"plate": ["XXX", capture.plate]},
                )
            old_entries = LogEntry.objects.filter(
                content_type=content_type, object_pk=str(old.pk)
            ).count()
        assert old_entries >= 1
        result = purge_expired(agency=agency_a)
        assert result.related_deleted.get("auditlog.logentry") == old_entries + 1  # + review
        with schema_context(agency_a.schema_name):
            remaining = set(
                LogEntry.objects.filter(content_type=content_type).values_list(
                    "object_pk", flat=True
                )
            )
            assert not LogEntry.objects.filter(
                content_type=review_type, object_pk=str(old_review.pk)
            ).exists()
        assert str(old.pk) not in remaining
        assert str(live.pk) in remaining
    finally:
        for model in registered_here:
            auditlog.unregister(model)
