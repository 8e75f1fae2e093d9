"""Access-log retention: separate from capture retention, never shorter than a year.

Removing entries conflicts with an append-only, chained log, so it is done one honest way:
only a prefix of the chain (every entry older than the cutoff), only after the whole chain
verifies, with the database guard allowing deletes solely for rows older than the cutoff
*and* older than one year by the database's own clock. The hash of the newest removed entry
is kept in an append-only ``ChainAnchor`` and in a ``log_pruned`` entry, so verification
still starts from a known hash.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import chain
from audit.models import MIN_LOG_RETENTION_DAYS, AccessEvent, Action, ChainAnchor, Flag, LogPolicy


def log_retention_days() -> int:
    """This schema's access-log retention in days (agency policy row, else the setting)."""
    policy = LogPolicy.objects.order_by("-id").values_list("retention_days", flat=True).first()
    days = policy or settings.ALPR_ACCESS_LOG_RETENTION_DAYS
    return max(int(days), MIN_LOG_RETENTION_DAYS)


def log_retention_cutoff(*, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=log_retention_days())


@dataclass(frozen=True)
class PruneResult:
    removed: int
    cutoff: datetime.datetime
    refused: str = ""


def prune_access_log(*, now: datetime.datetime | None = None) -> PruneResult:
    """Remove entries older than the retention from the current schema's log."""
    from audit.services import record_event

    cutoff = log_retention_cutoff(now=now)
    with transaction.atomic():
        chain.lock_chain()
        verified = chain.verify_chain()
        if not verified.ok:
            return PruneResult(
                removed=0,
                cutoff=cutoff,
                refused=f"chain broken at #{verified.broken_id}: {verified.problem}",
            )
        first_kept = (
            AccessEvent.objects.filter(occurred_at__gte=cutoff)
            .order_by("id")
            .values_list("id", flat=True)
            .first()
        )
        doomed = AccessEvent.objects.all()
        if first_kept is not None:
            doomed = doomed.filter(id__lt=first_kept)
        last = doomed.order_by("-id").values("id", "entry_hash").first()
        if last is None:
            return PruneResult(removed=0, cutoff=cutoff)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('alpr.audit_prune_before', %s, true)", [cutoff.isoformat()]
            )
            Flag.objects.filter(event_id__lte=last["id"]).delete()
            cursor.execute("DELETE FROM audit_accessevent WHERE id <= %s", [last["id"]])
            removed = cursor.rowcount
            cursor.execute("SELECT set_config('alpr.audit_prune_before', '', true)")
        ChainAnchor.objects.create(
            cutoff=cutoff,
            last_removed_id=last["id"],
            last_removed_hash=last["entry_hash"],
            removed_count=removed,
        )
        record_event(
            action=Action.LOG_PRUNED,
            reason=f"Access-log retention of {log_retention_days()} days.",
            details={
                "removed": removed,
                "cutoff": chain.utc_stamp(cutoff),
                "last_removed_id": last["id"],
                "last_removed_hash": last["entry_hash"],
            },
        )
    return PruneResult(removed=removed, cutoff=cutoff)
