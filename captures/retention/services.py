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
so a backup copy of the day's files can no longer be decrypted. Every step is idempotent,
so a rerun reaches the same end state. Each run that ends writes one access-log entry
(action ``purge``) with its cutoff, counts and duration, never a plate.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from audit.services import record_event
from captures.models import Capture, DataKey
from captures.retention.selectors import retention_cutoff
from captures.storage import image_files
from tenants.models import Agency

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# A file in an old day folder without a row is deleted; in the checks, a file younger than this
# without a row may be an upload whose row is not committed yet.
ORPHAN_GRACE = datetime.timedelta(hours=1)
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


def image_fields() -> list[str]:
    """Capture fields holding storage names of encrypted images (plate, vehicle, crops...)."""
    return [
        f.name
        for f in Capture._meta.concrete_fields
        if isinstance(f, models.CharField) and f.name.endswith("_image")
    ]


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
            through = rel.through
            column = through._meta.get_field(rel.field.m2m_reverse_field_name()).column
            _raw_delete_where(through, column, pks, counts)
            continue
        related = rel.related_model
        column = rel.field.column
        if rel.on_delete in (models.SET_NULL, models.SET_DEFAULT):
            value = None if rel.on_delete is models.SET_NULL else rel.field.get_default()
            related._base_manager.filter(**{f"{rel.field.name}__in": pks}).update(
                **{rel.field.name: value}
            )
            continue
        if rel.on_delete is models.DO_NOTHING:
            continue
        if related._meta.related_objects or _has_change_history(related):
            child_pks = list(
                related._base_manager.filter(**{f"{rel.field.name}__in": pks}).values_list(
                    "pk", flat=True
                )
            )
            _delete_change_history(related, child_pks, counts)
            _delete_dependents(related, child_pks, counts)
        _raw_delete_where(related, column, pks, counts)


def _raw_delete_where(model: type[models.Model], column: str, pks: list[Any], counts) -> None:
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

    return auditlog.contains(model)


def _delete_change_history(model: type[models.Model], pks: list[Any], counts) -> None:
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


def _purge_batch(*, cutoff: datetime.datetime, batch_size: int, result: PurgeResult) -> int:
    """Delete one batch of expired captures with their files; the number of captures."""
    fields = image_fields()
    t0 = time.perf_counter()
    with transaction.atomic():
        rows = list(
            Capture.objects.filter(captured_at__lte=cutoff)
            .order_by("captured_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", *fields)[:batch_size]
        )
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
        _raw_delete_where(Capture, Capture._meta.pk.column, pks, {})
        _checkpoint("rows_deleted")
    result.files_seconds += t2 - t1
    result.rows_seconds += time.perf_counter() - t0 - (t2 - t1)
    result.captures_deleted += len(pks)
    result.batches += 1
    return len(pks)


def _schema_root() -> Path:
    return Path(image_files.image_storage.root) / connection.schema_name


def _day_folders(before_day: datetime.date) -> list[tuple[datetime.date, Path]]:
    root = _schema_root()
    if not root.is_dir():
        return []
    folders = []
    for entry in root.iterdir():
        try:
            day = datetime.date.fromisoformat(entry.name)
        except ValueError:
            continue
        if entry.is_dir() and day < before_day:
            folders.append((day, entry))
    return sorted(folders)


def captures_of_day(day: datetime.date, *, live_after: datetime.datetime | None = None):
    """Captures whose images are stored under ``day`` (its folder and its data key)."""
    prefix = f"{day.isoformat()}/"
    query = models.Q(key_day=day)
    for name in image_fields():
        query |= models.Q(**{f"{name}__startswith": prefix})
    captures = Capture.objects.filter(query)
    if live_after is not None:
        captures = captures.filter(captured_at__gt=live_after)
    return captures


def names_in_use(day: datetime.date, *, live_after: datetime.datetime | None = None) -> set[str]:
    """Image names of captures stored under ``day`` (normally none once the day is expired)."""
    prefix = f"{day.isoformat()}/"
    names: set[str] = set()
    rows = captures_of_day(day, live_after=live_after).values_list(*image_fields())
    for row in rows.iterator(chunk_size=5000):
        names.update(n for n in row if n and n.startswith(prefix))
    return names


def _sweep_old_days(*, cutoff: datetime.datetime, result: PurgeResult, dry_run: bool) -> None:
    """Old day folders: delete files no row names, remove empty folders, destroy day keys."""
    cutoff_day = cutoff.astimezone(datetime.UTC).date()
    days = {day for day, _ in _day_folders(cutoff_day)}
    days |= set(
        DataKey.objects.filter(day__lt=cutoff_day, destroyed_at__isnull=True).values_list(
            "day", flat=True
        )
    )
    root = _schema_root()
    # A dry run counts keys as if the expired rows were already gone (their files are
    # counted with the rows, not here).
    live_after = cutoff if dry_run else None
    for day in sorted(days):
        in_use = names_in_use(day)
        folder = root / day.isoformat()
        if folder.is_dir():
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = f"{day.isoformat()}/{entry.name}"
                    if name in in_use or not entry.is_file(follow_symlinks=False):
                        continue
                    if not dry_run:
                        try:
                            os.unlink(entry.path)
                        except FileNotFoundError:
                            continue
                    result.orphan_files_deleted += 1
            if not in_use and not dry_run:
                try:
                    folder.rmdir()
                    result.folders_removed += 1
                except OSError:
                    pass  # not empty (a sub-folder we do not own) or already gone
        _checkpoint("day_swept")
        if (in_use and not dry_run) or captures_of_day(day, live_after=live_after).exists():
            continue
        if dry_run:
            if DataKey.objects.filter(day=day, destroyed_at__isnull=True).exists():
                result.keys_destroyed += 1
        elif image_files.destroy_day_key(day):
            result.keys_destroyed += 1


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
    concurrent run still holds count as left).
    """
    started = time.monotonic()
    now = now or timezone.now()
    agency.refresh_from_db(fields=["retention_days"])
    cutoff = retention_cutoff(agency, now=now)
    result = PurgeResult(agency=agency.slug, cutoff=cutoff, dry_run=dry_run)
    with schema_context(agency.schema_name):
        if dry_run:
            expired = Capture.objects.filter(captured_at__lte=cutoff)
            result.captures_deleted = expired.count()
            for name in image_fields():
                result.files_deleted += expired.exclude(**{name: ""}).count()
            _sweep_old_days(cutoff=cutoff, result=result, dry_run=True)
            result.duration_seconds = time.monotonic() - started
            return result
        try:
            while _purge_batch(cutoff=cutoff, batch_size=batch_size, result=result):
                _checkpoint("batch_committed")
                if max_seconds is not None and time.monotonic() - started > max_seconds:
                    result.budget_exhausted = True
                    break
            if not result.budget_exhausted:
                t0 = time.perf_counter()
                _sweep_old_days(cutoff=cutoff, result=result, dry_run=False)
                result.sweep_seconds = time.perf_counter() - t0
            result.remaining = Capture.objects.filter(captured_at__lte=cutoff).count()
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


# --- Celery: the hourly dispatcher and the per-agency task --------------------------------


def is_purge_hour(agency: Agency, *, now: datetime.datetime) -> bool:
    """True during the hour that starts at the agency's purge hour on its local clock.

    Measured as "the latest local ``purge_hour:00`` began less than an hour ago", so a purge
    hour skipped by a daylight-saving jump still runs (in the hour after it) and one repeated
    when the clocks go back runs once.
    """
    local_today = now.astimezone(agency.tz).date()
    start = datetime.datetime.combine(
        local_today, datetime.time(agency.purge_hour), tzinfo=agency.tz
    )
    elapsed = now - start.astimezone(datetime.UTC)
    return datetime.timedelta(0) <= elapsed < datetime.timedelta(hours=1)


def agencies_due(*, now: datetime.datetime) -> list[Agency]:
    """Agencies whose purge hour it is now, in their own time zone."""
    agencies = Agency.objects.exclude(schema_name="public").order_by("pk")
    return [agency for agency in agencies if is_purge_hour(agency, now=now)]


def _send_purge(schema_name: str, agency_id: int) -> None:
    with schema_context(schema_name):
        purge_agency.apply_async(
            args=[agency_id],
            headers={"_schema_name": schema_name},
            queue=getattr(settings, "ALPR_PURGE_QUEUE", "celery"),
        )


@shared_task(name="captures.purge.purge_dispatch", ignore_result=True)
def purge_dispatch(now_iso: str | None = None) -> list[str]:
    """Run hourly by beat in public: one ``purge_agency`` task per agency whose hour it is."""
    now = datetime.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    sent = []
    for agency in agencies_due(now=now):
        transaction.on_commit(functools.partial(_send_purge, agency.schema_name, agency.pk))
        sent.append(agency.slug)
    return sent


@shared_task(
    name="captures.purge.purge_agency",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def purge_agency(agency_id: int) -> dict[str, Any] | None:
    """Purge one agency (runs in its schema). Continues in a new task if the budget runs out."""
    agency = Agency.objects.filter(pk=agency_id).exclude(schema_name="public").first()
    if agency is None:
        logger.warning("Purge task for unknown agency id %s skipped", agency_id)
        return None
    budget = max(settings.CELERY_TASK_SOFT_TIME_LIMIT - 60, 30)
    result = purge_expired(agency=agency, max_seconds=budget, username=NIGHTLY_USERNAME)
    if result.budget_exhausted:
        transaction.on_commit(functools.partial(_send_purge, agency.schema_name, agency.pk))
    return result.as_details()
