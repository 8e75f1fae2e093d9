"""Reads of retention: the cutoff applied at query time everywhere a capture can be read, and
which agencies' purge hour it is."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from captures.models import Capture
from tenants.models import Agency
from tenants.schemas import PUBLIC_SCHEMA


def retention_cutoff(agency: Agency, *, now: datetime.datetime | None = None) -> datetime.datetime:
    """Captures taken at or before this instant are past retention."""
    return (now or timezone.now()) - datetime.timedelta(days=agency.retention_days)


def visible_captures(agency: Agency, *, now: datetime.datetime | None = None) -> QuerySet[Capture]:
    """All captures of the current schema that are still within the agency's retention.

    Every read path (search, capture page, image view, API) starts here, so a capture
    past retention is never shown even before the nightly purge has deleted it.
    """
    return Capture.objects.filter(captured_at__gt=retention_cutoff(agency, now=now))


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
    agencies = Agency.objects.exclude(schema_name=PUBLIC_SCHEMA).order_by("pk")
    return [agency for agency in agencies if is_purge_hour(agency, now=now)]
