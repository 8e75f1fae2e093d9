"""The retention cutoff, applied at query time everywhere a capture can be read."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from captures.models import Capture
from tenants.models import Agency


def retention_cutoff(agency: Agency, *, now: datetime.datetime | None = None) -> datetime.datetime:
    """Captures taken at or before this instant are past retention."""
    return (now or timezone.now()) - datetime.timedelta(days=agency.retention_days)


def visible_captures(agency: Agency, *, now: datetime.datetime | None = None) -> QuerySet[Capture]:
    """All captures of the current schema that are still within the agency's retention.

    Every read path (search, capture page, image view, API) starts here, so a capture
    past retention is never shown even before the nightly purge has deleted it.
    """
    return Capture.objects.filter(captured_at__gt=retention_cutoff(agency, now=now))
