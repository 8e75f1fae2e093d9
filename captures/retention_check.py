"""Check that nothing past an agency's retention remains, in the database or in storage."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from django.utils import timezone
from django_tenants.utils import schema_context

from captures.models import Capture, DataKey
from captures.purge import ORPHAN_GRACE, _day_folders, _schema_root, captures_of_day, names_in_use
from captures.retention import retention_cutoff
from tenants.models import Agency


@dataclass(frozen=True)
class RetentionReport:
    agency: str
    retention_days: int
    cutoff: datetime.datetime
    expired_captures: int  # rows captured at or before the cutoff
    expired_day_files: int  # files in day folders older than the cutoff's day
    orphan_files: int  # files in current day folders that no capture names (older than the grace)
    live_expired_keys: (
        int  # data keys of expired days not destroyed although no live capture uses them
    )

    @property
    def ok(self) -> bool:
        return not (
            self.expired_captures
            or self.expired_day_files
            or self.orphan_files
            or self.live_expired_keys
        )

    def lines(self) -> list[str]:
        return [
            f"expired capture rows: {self.expired_captures}",
            f"files in expired day folders: {self.expired_day_files}",
            f"orphaned files (no capture row): {self.orphan_files}",
            f"undestroyed data keys of expired days: {self.live_expired_keys}",
        ]


def _files_in(folder) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        return [e for e in entries if e.is_file(follow_symlinks=False)]


def verify_retention(*, agency: Agency, now: datetime.datetime | None = None) -> RetentionReport:
    now = now or timezone.now()
    agency.refresh_from_db(fields=["retention_days"])
    cutoff = retention_cutoff(agency, now=now)
    cutoff_day = cutoff.astimezone(datetime.UTC).date()
    grace_limit = (now - ORPHAN_GRACE).timestamp()
    with schema_context(agency.schema_name):
        expired_captures = Capture.objects.filter(captured_at__lte=cutoff).count()
        expired_day_files = sum(len(_files_in(folder)) for _, folder in _day_folders(cutoff_day))
        orphan_files = 0
        root = _schema_root()
        if root.is_dir():
            for entry in sorted(root.iterdir()):
                try:
                    day = datetime.date.fromisoformat(entry.name)
                except ValueError:
                    continue
                if day < cutoff_day or not entry.is_dir():
                    continue
                in_use = names_in_use(day)
                for file in _files_in(entry):
                    name = f"{entry.name}/{file.name}"
                    if name not in in_use and file.stat().st_mtime < grace_limit:
                        orphan_files += 1
        live_expired_keys = sum(
            1
            for day in DataKey.objects.filter(
                day__lt=cutoff_day, destroyed_at__isnull=True
            ).values_list("day", flat=True)
            if not captures_of_day(day, live_after=cutoff).exists()
        )
    return RetentionReport(
        agency=agency.slug,
        retention_days=agency.retention_days,
        cutoff=cutoff,
        expired_captures=expired_captures,
        expired_day_files=expired_day_files,
        orphan_files=orphan_files,
        live_expired_keys=live_expired_keys,
    )
