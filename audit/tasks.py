"""Periodic audit jobs. Dispatchers run in public and fan out one task per agency
(``tenants.fanout``); each per-agency task runs in that agency's schema."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tenants.fanout import fan_out, task_agency

logger = logging.getLogger(__name__)


@shared_task
def verify_all_logs() -> int:
    return len(fan_out(verify_log, include_platform=True))


# Walking a log of millions of entries takes minutes: more than the default task limit.
LONG_LIMIT = 4 * 3600


@shared_task(time_limit=LONG_LIMIT, soft_time_limit=LONG_LIMIT - 60)
def verify_log(agency_id: int) -> dict[str, Any]:
    from audit.checkpoint import verify_and_record

    task_agency(agency_id)
    return verify_and_record().as_details()


@shared_task
def checkpoint_all_logs() -> int:
    return len(fan_out(checkpoint_log, include_platform=True))


@shared_task
def checkpoint_log(agency_id: int) -> dict[str, Any]:
    """Sign this schema's chain head into the checkpoint store (hourly)."""
    from audit.checkpoint import BadCheckpoint, CheckpointRefused, checkpoint_write

    agency = task_agency(agency_id)
    try:
        point = checkpoint_write()
    except CheckpointRefused as refused:
        logger.error(
            "access log of %s not checkpointed: %s",
            agency.slug,
            refused.result.describe(agency.schema_name),
        )
        return {"ok": False, "problem": refused.result.problem}
    except BadCheckpoint as bad:
        logger.error("access log of %s not checkpointed: %s", agency.slug, bad.problem)
        return {"ok": False, "problem": bad.problem}
    return {"ok": True, "head_id": point.head_id, "head_hash": point.head_hash}


@shared_task
def prune_all_logs() -> int:
    return len(fan_out(prune_log, include_platform=True, queue=settings.ALPR_AUDIT_PRUNE_QUEUE))


@shared_task(time_limit=LONG_LIMIT, soft_time_limit=LONG_LIMIT - 60)
def prune_log(agency_id: int) -> dict[str, Any]:
    from audit.retention import prune_access_log

    task_agency(agency_id)
    result = prune_access_log()
    if result.refused:
        logger.error("access log of agency %s not pruned: %s", agency_id, result.refused)
    return {"removed": result.removed, "refused": result.refused}


@shared_task
def scan_all_flags() -> int:
    return len(fan_out(scan_flags))


@shared_task
def scan_flags(agency_id: int) -> int:
    from audit.flags import flags_scan

    agency = task_agency(agency_id)
    return flags_scan(agency=agency)


@shared_task
def weekly_reports() -> int:
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = end - datetime.timedelta(days=7)
    return len(fan_out(build_report, start=start.isoformat(), end=end.isoformat()))


@shared_task(time_limit=LONG_LIMIT, soft_time_limit=LONG_LIMIT - 60)
def build_report(agency_id: int, *, start: str, end: str) -> int:
    from audit.flags import flags_scan
    from audit.reports import report_create

    agency = task_agency(agency_id)
    flags_scan(agency=agency)
    report = report_create(
        agency=agency,
        period_start=datetime.datetime.fromisoformat(start),
        period_end=datetime.datetime.fromisoformat(end),
    )
    return report.id


@shared_task
def incident_reminders_all() -> int:
    """Beat, daily in public: remind each agency's custodian of incident notifications due."""
    return len(fan_out(incident_reminders))


@shared_task
def incident_reminders(agency_id: int) -> int:
    from audit.incidents.services import reminders_send

    agency = task_agency(agency_id)
    return reminders_send(agency=agency)
