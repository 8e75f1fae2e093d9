"""Check that nothing past an agency's retention remains, in the database or in storage."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from django.utils import timezone
from django_tenants.utils import schema_context

from captures.holds.selectors import ended_hold_capture_ids, held_capture_ids
from captures.models import Capture, DataKey
from captures.retention.selectors import retention_cutoff
from captures.storage.days import (
    captures_of_day,
    day_folders,
    image_fields,
    names_in_use,
    schema_root,
)
from tenants.models import Agency

# A file of a current day without a row, younger than this, may be an upload whose row is not
# committed yet: it is not counted as an orphan.
ORPHAN_GRACE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class RetentionReport:
    agency: str
    retention_days: int
    cutoff: datetime.datetime
    expired_captures: int  # rows captured at or before the cutoff that no active hold keeps
    expired_files: int  # files of expired days that a capture row still names
    expired_orphan_files: int  # files of expired days that no capture row names
    live_expired_keys: int  # undestroyed data keys of days no live capture uses any more
    recent_orphan_files: int  # current days, no row, older than the grace: reported only
    held_captures: int = 0  # expired rows an active legal hold keeps: not a failure
    held_files: int = 0  # their files
    ended_hold_captures: int = 0  # of expired_captures, those once held by a hold now over

    @property
    def ok(self) -> bool:
        return not (
            self.expired_captures
            or self.expired_files
            or self.expired_orphan_files
            or self.live_expired_keys
        )

    def lines(self) -> list[str]:
        return [
            f"capture rows older than retention: {self.expired_captures}",
            f"  of which held by a legal hold that has ended or was lifted: "
            f"{self.ended_hold_captures}",
            f"(kept on purpose) capture rows older than retention under an active legal hold: "
            f"{self.held_captures}, with {self.held_files} image files",
            f"image files of expired days named by a row: {self.expired_files}",
            f"orphaned image files of expired days (no row): {self.expired_orphan_files}",
            f"undestroyed data keys of expired days: {self.live_expired_keys}",
            f"(not past retention) orphaned files of current days, older than "
            f"{int(ORPHAN_GRACE.total_seconds() // 60)} minutes: {self.recent_orphan_files}",
        ]


def _file_names(folder) -> list[str]:
    with os.scandir(folder) as entries:
        return [e.name for e in entries if e.is_file(follow_symlinks=False)]


def _held_names(day: datetime.date, *, now: datetime.datetime) -> set[str]:
    """Image names of ``day`` that captures under an active legal hold use."""
    prefix = f"{day.isoformat()}/"
    rows = (
        captures_of_day(day).filter(pk__in=held_capture_ids(now=now)).values_list(*image_fields())
    )
    return {name for row in rows for name in row if name and name.startswith(prefix)}


def verify_retention(*, agency: Agency, now: datetime.datetime | None = None) -> RetentionReport:
    """Count what is older than ``agency``'s retention. Memory stays bounded by one day's names.

    Captures an active legal hold keeps (and their files and day keys) are reported, not
    failures; a capture whose hold has ended and that is still present is one."""
    now = now or timezone.now()
    agency.refresh_from_db(fields=["retention_days"])
    cutoff = retention_cutoff(agency, now=now)
    cutoff_day = cutoff.astimezone(datetime.UTC).date()
    grace_limit = (now - ORPHAN_GRACE).timestamp()
    expired_files = expired_orphans = recent_orphans = 0
    held_files = 0
    with schema_context(agency.schema_name):
        held = held_capture_ids(now=now)
        expired = Capture.objects.filter(captured_at__lte=cutoff)
        expired_captures = expired.exclude(pk__in=held).count()
        held_captures = expired.filter(pk__in=held).count()
        ended_hold_captures = (
            expired.exclude(pk__in=held).filter(pk__in=ended_hold_capture_ids(now=now)).count()
        )
        for day, folder in day_folders(cutoff_day):
            in_use = names_in_use(day)
            kept = _held_names(day, now=now)
            for file_name in _file_names(folder):
                name = f"{day.isoformat()}/{file_name}"
                if name in kept:
                    held_files += 1
                elif name in in_use:
                    expired_files += 1
                else:
                    expired_orphans += 1
        root = schema_root()
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            try:
                day = datetime.date.fromisoformat(entry.name)
            except ValueError:
                continue
            if day < cutoff_day or not entry.is_dir():
                continue
            in_use = names_in_use(day)
            for file_name in _file_names(entry):
                if (
                    f"{entry.name}/{file_name}" not in in_use
                    and (entry / file_name).stat().st_mtime < grace_limit
                ):
                    recent_orphans += 1
        live_expired_keys = sum(
            1
            for day in DataKey.objects.filter(
                day__lt=cutoff_day, destroyed_at__isnull=True
            ).values_list("day", flat=True)
            if not captures_of_day(day, live_after=cutoff).exists()
            and not captures_of_day(day).filter(pk__in=held).exists()
        )
    return RetentionReport(
        agency=agency.slug,
        retention_days=agency.retention_days,
        cutoff=cutoff,
        expired_captures=expired_captures,
        expired_files=expired_files,
        expired_orphan_files=expired_orphans,
        live_expired_keys=live_expired_keys,
        recent_orphan_files=recent_orphans,
        held_captures=held_captures,
        held_files=held_files,
        ended_hold_captures=ended_hold_captures,
    )
