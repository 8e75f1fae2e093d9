"""The retention purge: delete what is past an agency's retention, rows and image bytes.

How a run stays correct when it is interrupted or runs twice at once
--------------------------------------------------------------------
Each batch is one transaction: lock up to ``batch_size`` expired captures with
``FOR UPDATE SKIP LOCKED`` (a concurrent run takes other rows instead of waiting), delete
their image files, then delete their dependent rows and the captures, and commit.

* Killed before the commit: the rows come back (rolled back) but some files may be gone.
  The rows are past retention, so nothing ever shows them; the next run takes them again,
  finds the files already missing (a missing file counts as deleted) and deletes the rows.
* Killed between batches: committed batches are done; the rest is simply still expired.

After the rows, day folders older than the cutoff's UTC day are swept (files that no
capture row names: failed uploads, leftovers of a crash, temporary parts), emptied
folders removed, and the day's data key destroyed once no capture of that day remains,
so a backup copy of the day's files can no longer be decrypted. Captures an active legal hold
keeps (``captures.holds.selectors``) are not taken, so their files and their day's key stay;
the first run after the hold ends or is lifted deletes them. Every step is idempotent,
so a rerun reaches the same end state. Each run that ends writes one access-log entry
(action ``purge``) with its cutoff, counts and duration, never a plate.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from django.db import connection, models, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from audit.services import record_event
from captures.holds.selectors import held_among, held_capture_ids
from captures.models import Capture, DataKey
from captures.retention.selectors import retention_cutoff
from captures.storage import image_files
from captures.storage.days import (
    captures_of_day,
    day_folders,
    image_fields,
    names_in_use,
    schema_root,
)
from tenants.models import Agency

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Threads deleting image files: unlink waits on the disk (see _delete_files), not on the CPU.
FILE_DELETE_THREADS = 8
NIGHTLY_USERNAME = "system:nightly-purge"
MANUAL_USERNAME = "system:purge_expired"


@dataclass
class PurgeResult:
    agency: str
    cutoff: datetime.datetime
    dry_run: bool = False
    captures_deleted: int = 0
    related_deleted: dict[str, int] = field(default_factory=dict)
    files_deleted: int = 0
    orphan_files_deleted: int = 0
    folders_removed: int = 0
    keys_destroyed: int = 0
    batches: int = 0
    # Expired captures an active legal hold keeps (captures/holds): left in place on purpose.
    held_kept: int = 0
    # Expired captures left at the end: locked by a concurrent run, or the time budget ran out.
    remaining: int = 0
    budget_exhausted: bool = False
    duration_seconds: float = 0.0
    # Where the time went: selecting and deleting rows, deleting files, sweeping old days.
    rows_seconds: float = 0.0
    files_seconds: float = 0.0
    sweep_seconds: float = 0.0
    complete: bool = True

    def as_details(self) -> dict[str, Any]:
        details = asdict(self)
        details["cutoff"] = self.cutoff.isoformat()
        for name in ("duration_seconds", "rows_seconds", "files_seconds", "sweep_seconds"):
            details[name] = round(details[name], 3)
        return details


def _checkpoint(name: str) -> None:
    """A named point between steps; tests replace it to simulate a crash exactly there."""


def _column(field: models.Field[Any, Any]) -> str:
    """The database column of a field that has one (every key pointing at a row does)."""
    if field.column is None:
        raise ValueError(f"{field} has no column of its own")
    return field.column


def _pk_column(model: type[models.Model]) -> str:
    pk = model._meta.pk
    if pk is None:
        raise ValueError(f"{model._meta.label} has no primary key")
    return _column(pk)


def _delete_links(rel: models.ForeignObjectRel, pks: list[Any], counts: dict[str, int]) -> None:
    """Many-to-many: delete the rows of the link table that name ``pks``."""
    field = cast("models.ManyToManyField[Any, Any]", rel.field)
    # Set for every many-to-many field once its model class is ready.
    through = cast("type[models.Model]", field.remote_field.through)
    link = cast("models.Field[Any, Any]", through._meta.get_field(field.m2m_reverse_field_name()))
    _raw_delete_where(through, _column(link), pks, counts)


def _detach(rel: models.ForeignObjectRel, pks: list[Any]) -> None:
    """SET_NULL / SET_DEFAULT: the dependent rows stay, pointing at nothing (or the default)."""
    name = rel.field.name
    value = None if rel.on_delete is models.SET_NULL else rel.field.get_default()
    rel.related_model._base_manager.filter(**{f"{name}__in": pks}).update(**{name: value})


def _delete_children(rel: models.ForeignObjectRel, pks: list[Any], counts: dict[str, int]) -> None:
    """CASCADE and PROTECT alike: delete the rows pointing at ``pks``, and what points at them."""
    related: type[models.Model] = rel.related_model
    field = cast("models.ForeignKey[Any, Any]", rel.field)
    if related._meta.related_objects or _has_change_history(related):
        child_pks = list(
            related._base_manager.filter(**{f"{field.name}__in": pks}).values_list("pk", flat=True)
        )
        _delete_change_history(related, child_pks, counts)
        _delete_dependents(related, child_pks, counts)
    _raw_delete_where(related, _column(field), pks, counts)


def _delete_dependents(model: type[models.Model], pks: list[Any], counts: dict[str, int]) -> None:
    """Delete rows of other models that point at ``pks`` of ``model`` (reviews, derived data).

    Plain SQL per relation instead of Django's cascade collector, which would load every
    dependent object into memory. Retention wins over PROTECT: nothing may keep an expired
    capture alive.
    """
    if not pks:
        return
    for rel in model._meta.related_objects:
        if rel.many_to_many:
            _delete_links(rel, pks, counts)
        elif rel.on_delete in (models.SET_NULL, models.SET_DEFAULT):
            _detach(rel, pks)
        elif rel.on_delete is not models.DO_NOTHING:
            _delete_children(rel, pks, counts)


def _raw_delete_where(
    model: type[models.Model], column: str, pks: list[Any], counts: dict[str, int]
) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {connection.ops.quote_name(column)} = ANY(%s)",  # noqa: S608
            [list(pks)],
        )
        if cursor.rowcount:
            label = model._meta.label_lower
            counts[label] = counts.get(label, 0) + cursor.rowcount


def _has_change_history(model: type[models.Model]) -> bool:
    from auditlog.registry import auditlog

    return bool(auditlog.contains(model))


def _delete_change_history(
    model: type[models.Model], pks: list[Any], counts: dict[str, int]
) -> None:
    """django-auditlog entries of purged rows hold their old values (plates): drop them too."""
    if not pks or not _has_change_history(model):
        return
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(model)
    deleted, _ = LogEntry.objects.filter(
        content_type=content_type, object_pk__in=[str(pk) for pk in pks]
    ).delete()
    if deleted:
        counts["auditlog.logentry"] = counts.get("auditlog.logentry", 0) + deleted


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:  # deleted by an earlier, interrupted run
        return False
    return True


def _delete_files(names: list[str]) -> int:
    """Delete stored files; the number that existed.

    In parallel: on a file system mounted with online discard (or a network disk) each unlink
    waits on the device, and a night's purge deletes tens of thousands of files.
    """
    paths = [image_files.image_storage.path_of(name) for name in names if name]
    if len(paths) < 2 * FILE_DELETE_THREADS:
        return sum(_unlink(path) for path in paths)
    with ThreadPoolExecutor(max_workers=FILE_DELETE_THREADS) as pool:
        return sum(pool.map(_unlink, paths, chunksize=32))


def expired_unheld(
    *, cutoff: datetime.datetime, now: datetime.datetime
) -> models.QuerySet[Capture]:
    """Captures past retention that no active legal hold keeps: what the purge deletes."""
    return Capture.objects.filter(captured_at__lte=cutoff).exclude(pk__in=held_capture_ids(now=now))


def _purge_batch(
    *, cutoff: datetime.datetime, now: datetime.datetime, batch_size: int, result: PurgeResult
) -> int:
    """Delete one batch of expired captures with their files; the number of captures."""
    fields = image_fields()
    t0 = time.perf_counter()
    with transaction.atomic():
        rows = list(
            expired_unheld(cutoff=cutoff, now=now)
            .order_by("captured_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", *fields)[:batch_size]
        )
        # Asked again with the rows locked: a hold committed after the select's snapshot
        # (it locks its captures first, so it cannot commit on these rows any more) is seen.
        held = held_among([row[0] for row in rows], now=now)
        rows = [row for row in rows if row[0] not in held]
        if not rows:
            result.rows_seconds += time.perf_counter() - t0
            return 0
        pks = [row[0] for row in rows]
        t1 = time.perf_counter()
        result.files_deleted += _delete_files([name for row in rows for name in row[1:]])
        t2 = time.perf_counter()
        _checkpoint("files_deleted")
        _delete_change_history(Capture, pks, result.related_deleted)
        _delete_dependents(Capture, pks, result.related_deleted)
        _raw_delete_where(Capture, _pk_column(Capture), pks, {})
        _checkpoint("rows_deleted")
    result.files_seconds += t2 - t1
    result.rows_seconds += time.perf_counter() - t0 - (t2 - t1)
    result.captures_deleted += len(pks)
    result.batches += 1
    return len(pks)


def _old_days(cutoff_day: datetime.date) -> list[datetime.date]:
    """Days before ``cutoff_day`` that still have a folder or an undestroyed key."""
    days = {day for day, _ in day_folders(cutoff_day)}
    days |= set(
        DataKey.objects.filter(day__lt=cutoff_day, destroyed_at__isnull=True).values_list(
            "day", flat=True
        )
    )
    return sorted(days)


def _delete_orphans(folder: Path, day: datetime.date, in_use: set[str], *, dry_run: bool) -> int:
    """Delete (or, in a dry run, count) the files of ``folder`` that no capture names."""
    deleted = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if f"{day.isoformat()}/{entry.name}" in in_use:
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            if not dry_run:
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
            deleted += 1
    return deleted


def _remove_folder(folder: Path) -> bool:
    try:
        folder.rmdir()
    except OSError:  # not empty (a sub-folder we do not own) or already gone
        return False
    return True


def _sweep_folder(
    day: datetime.date, in_use: set[str], *, result: PurgeResult, dry_run: bool
) -> None:
    folder = schema_root() / day.isoformat()
    if not folder.is_dir():
        return
    result.orphan_files_deleted += _delete_orphans(folder, day, in_use, dry_run=dry_run)
    if not in_use and not dry_run and _remove_folder(folder):
        result.folders_removed += 1


def _destroy_key_if_unused(
    day: datetime.date,
    in_use: set[str],
    *,
    cutoff: datetime.datetime,
    now: datetime.datetime,
    dry_run: bool,
) -> bool:
    """Destroy ``day``'s key once no capture uses the day; True if one was (or would be)."""
    # A dry run counts keys as if the expired rows were already gone (their files are
    # counted with the rows, not here); held captures stay, and so does their day's key.
    if dry_run:
        if captures_of_day(day, live_after=cutoff).exists():
            return False
        if captures_of_day(day).filter(pk__in=held_capture_ids(now=now)).exists():
            return False
        return DataKey.objects.filter(day=day, destroyed_at__isnull=True).exists()
    if in_use or captures_of_day(day).exists():
        return False
    return image_files.destroy_day_key(day)


def _sweep_old_days(
    *, cutoff: datetime.datetime, now: datetime.datetime, result: PurgeResult, dry_run: bool
) -> None:
    """Old day folders: delete files no row names, remove empty folders, destroy day keys.

    Held captures are rows: their files are named, so kept, and their day's key too."""
    for day in _old_days(cutoff.astimezone(datetime.UTC).date()):
        in_use = names_in_use(day)
        _sweep_folder(day, in_use, result=result, dry_run=dry_run)
        _checkpoint("day_swept")
        if _destroy_key_if_unused(day, in_use, cutoff=cutoff, now=now, dry_run=dry_run):
            result.keys_destroyed += 1


def _held_expired(*, cutoff: datetime.datetime, now: datetime.datetime) -> int:
    return Capture.objects.filter(captured_at__lte=cutoff, pk__in=held_capture_ids(now=now)).count()


def purge_expired(
    *,
    agency: Agency,
    now: datetime.datetime | None = None,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    max_seconds: float | None = None,
    username: str = MANUAL_USERNAME,
) -> PurgeResult:
    """Purge everything of ``agency`` past its retention (see the module docstring).

    ``dry_run`` counts what would go and changes nothing (and writes no log entry).
    ``max_seconds`` stops between batches once exceeded (``budget_exhausted``); run it again
    to continue. ``complete`` is True when nothing expired is left at the end (rows a
    concurrent run still holds count as left). Captures an active legal hold keeps at ``now``
    are left, counted in ``held_kept``; the first run after the hold ends deletes them.
    """
    started = time.monotonic()
    now = now or timezone.now()
    agency.refresh_from_db(fields=["retention_days"])
    cutoff = retention_cutoff(agency, now=now)
    result = PurgeResult(agency=agency.slug, cutoff=cutoff, dry_run=dry_run)
    with schema_context(agency.schema_name):
        result.held_kept = _held_expired(cutoff=cutoff, now=now)
        if dry_run:
            expired = expired_unheld(cutoff=cutoff, now=now)
            result.captures_deleted = expired.count()
            for name in image_fields():
                result.files_deleted += expired.exclude(**{name: ""}).count()
            _sweep_old_days(cutoff=cutoff, now=now, result=result, dry_run=True)
            result.duration_seconds = time.monotonic() - started
            return result
        try:
            while _purge_batch(cutoff=cutoff, now=now, batch_size=batch_size, result=result):
                _checkpoint("batch_committed")
                if max_seconds is not None and time.monotonic() - started > max_seconds:
                    result.budget_exhausted = True
                    break
            if not result.budget_exhausted:
                t0 = time.perf_counter()
                _sweep_old_days(cutoff=cutoff, now=now, result=result, dry_run=False)
                result.sweep_seconds = time.perf_counter() - t0
            result.remaining = expired_unheld(cutoff=cutoff, now=now).count()
            result.complete = not result.budget_exhausted and result.remaining == 0
        except Exception as exc:
            result.complete = False
            result.duration_seconds = time.monotonic() - started
            logger.exception("Purge of %s failed", agency.slug)
            try:
                record_event(
                    action=Action.PURGE,
                    username=username,
                    outcome=Outcome.FAILED,
                    reason=f"The purge stopped with an error ({type(exc).__name__}); the next "
                    "run continues where it stopped.",
                    details=result.as_details(),
                )
            except Exception:  # e.g. the caller's transaction is broken: keep the first error
                logger.exception("The failed purge of %s could not be logged", agency.slug)
            raise
        result.duration_seconds = time.monotonic() - started
        record_event(action=Action.PURGE, username=username, details=result.as_details())
    logger.info(
        "Purged %s: %d captures, %d files, %d orphan files, %d keys destroyed in %.1f s%s",
        agency.slug,
        result.captures_deleted,
        result.files_deleted,
        result.orphan_files_deleted,
        result.keys_destroyed,
        result.duration_seconds,
        "" if result.complete else f" ({result.remaining} expired captures left for a next run)",
    )
    return result
