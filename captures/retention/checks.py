"""Check that nothing past an agency's retention remains, in the database or in storage."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django_tenants.utils import schema_context

from captures.models import Capture, DataKey
from captures.retention.selectors import retention_cutoff
from captures.storage.days import (
    captures_of_day,
    day_file_names,
    file_modified,
    names_in_use,
    stored_days,
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
    expired_captures: int  # rows captured at or before the cutoff
    expired_files: int  # files of expired days that a capture row still names
    expired_orphan_files: int  # files of expired days that no capture row names
    live_expired_keys: int  # undestroyed data keys of days no live capture uses any more
    recent_orphan_files: int  # current days, no row, older than the grace: reported only

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
            f"image files of expired days named by a row: {self.expired_files}",
            f"orphaned image files of expired days (no row): {self.expired_orphan_files}",
            f"undestroyed data keys of expired days: {self.live_expired_keys}",
            f"(not past retention) orphaned files of current days, older than "
            f"{int(ORPHAN_GRACE.total_seconds() // 60)} minutes: {self.recent_orphan_files}",
        ]


def verify_retention(*, agency: Agency, now: datetime.datetime | None = None) -> RetentionReport:
    """Count what is older than ``agency``'s retention. Memory stays bounded by one day's names."""
    now = now or timezone.now()
    agency.refresh_from_db(fields=["retention_days"])
    cutoff = retention_cutoff(agency, now=now)
    cutoff_day = cutoff.astimezone(datetime.UTC).date()
    grace_limit = (now - ORPHAN_GRACE).timestamp()
    expired_files = expired_orphans = recent_orphans = 0
    with schema_context(agency.schema_name):
        expired_captures = Capture.objects.filter(captured_at__lte=cutoff).count()
        for day in stored_days():
            in_use = names_in_use(day)
            for file_name in day_file_names(day):
                named = f"{day.isoformat()}/{file_name}" in in_use
                if day < cutoff_day:
                    expired_files += named
                    expired_orphans += not named
                elif not named and file_modified(day, file_name) < grace_limit:
                    recent_orphans += 1
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
        expired_files=expired_files,
        expired_orphan_files=expired_orphans,
        live_expired_keys=live_expired_keys,
        recent_orphan_files=recent_orphans,
    )
