"""Periodic audit jobs. Dispatchers run in public and fan out one task per agency."""

from __future__ import annotations

import datetime
import functools
import logging
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.schemas import current_schema

logger = logging.getLogger(__name__)


def _fan_out(
    task: Task[..., Any], *, include_platform: bool = True, queue: str | None = None, **kwargs: Any
) -> int:
    """Send ``task`` once per agency schema (and the platform's own), each in its schema."""
    agencies = Agency.objects.order_by("schema_name")
    if not include_platform:
        agencies = agencies.exclude(schema_name="public")
    count = 0
    for agency in agencies:
        transaction.on_commit(
            functools.partial(_send, task, agency.schema_name, agency.id, kwargs, queue)
        )
        count += 1
    return count


def _send(
    task: Task[..., Any],
    schema_name: str,
    agency_id: int,
    kwargs: dict[str, Any],
    queue: str | None,
) -> None:
    with schema_context(schema_name):
        if queue:
            task.apply_async(args=(agency_id,), kwargs=kwargs, queue=queue)
        else:
            task.delay(agency_id, **kwargs)


def _check_schema(agency_id: int) -> Agency:
    agency: Agency = Agency.objects.get(id=agency_id)
    if current_schema() != agency.schema_name:
        raise RuntimeError(f"task for {agency.schema_name} ran in {current_schema()}; refusing")
    return agency


@shared_task
def verify_all_logs() -> int:
    return _fan_out(verify_log)


# Walking a log of millions of entries takes minutes: more than the default task limit.
LONG_SECONDS = 4 * 3600


@shared_task(time_limit=LONG_SECONDS, soft_time_limit=LONG_SECONDS - 60)
def verify_log(agency_id: int) -> dict[str, Any]:
    from audit.checkpoint import verify_and_record

    _check_schema(agency_id)
    return verify_and_record().as_details()


@shared_task
def checkpoint_all_logs() -> int:
    return _fan_out(checkpoint_log)


@shared_task
def checkpoint_log(agency_id: int) -> dict[str, Any]:
    """Sign this schema's chain head into the checkpoint store (hourly)."""
    from audit.checkpoint import BadCheckpoint, CheckpointRefused, checkpoint_write

    agency = _check_schema(agency_id)
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
    from django.conf import settings

    return _fan_out(prune_log, queue=settings.ALPR_AUDIT_PRUNE_QUEUE)


@shared_task(time_limit=LONG_SECONDS, soft_time_limit=LONG_SECONDS - 60)
def prune_log(agency_id: int) -> dict[str, Any]:
    from audit.retention import prune_access_log

    _check_schema(agency_id)
    result = prune_access_log()
    if result.refused:
        logger.error("access log of agency %s not pruned: %s", agency_id, result.refused)
    return {"removed": result.removed, "refused": result.refused}


@shared_task
def scan_all_flags() -> int:
    return _fan_out(scan_flags, include_platform=False)


@shared_task
def scan_flags(agency_id: int) -> int:
    from audit.flags import flags_scan

    agency = _check_schema(agency_id)
    return flags_scan(agency=agency)


@shared_task
def weekly_reports() -> int:
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = end - datetime.timedelta(days=7)
    return _fan_out(
        build_report,
        include_platform=False,
        start=start.isoformat(),
        end=end.isoformat(),
    )


@shared_task(time_limit=LONG_SECONDS, soft_time_limit=LONG_SECONDS - 60)
def build_report(agency_id: int, *, start: str, end: str) -> int:
    from audit.flags import flags_scan
    from audit.reports import report_create

    agency = _check_schema(agency_id)
    flags_scan(agency=agency)
    report = report_create(
        agency=agency,
        period_start=datetime.datetime.fromisoformat(start),
        period_end=datetime.datetime.fromisoformat(end),
    )
    return report.id
