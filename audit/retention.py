"""Access-log retention: separate from capture retention, never shorter than a year.

Removing entries conflicts with an append-only, chained log, so it is done one honest way:
only a prefix of the chain (every entry older than the cutoff), only after the whole chain
and its checkpoints verify, with the database guard allowing deletes solely for rows older
than the cutoff *and* older than one year by the database's own clock. The hash of the newest
removed entry is kept in an append-only ``ChainAnchor`` and in a ``log_pruned`` entry, so
verification still starts from a known hash.

The verification walk takes minutes on a large log and runs without the chain lock; the lock
is then taken per batch of the verified prefix, only to re-check that batch (count and a
checksum of its hashes), delete it and append its anchor.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import chain
from audit.checkpoint import verify_log
from audit.models import MIN_LOG_RETENTION_DAYS, Action, ChainAnchor, Flag, LogPolicy
from audit.services import Actor, record_event


def log_retention_days() -> int:
    """This schema's access-log retention in days (agency policy row, else the setting)."""
    policy = LogPolicy.objects.order_by("-id").values_list("retention_days", flat=True).first()
    days = policy or settings.ALPR_ACCESS_LOG_RETENTION_DAYS
    return max(int(days), MIN_LOG_RETENTION_DAYS)


def log_policy_set(
    *, retention_days: int, request: HttpRequest | None = None, actor: Actor | None = None
) -> LogPolicy:
    """Set this agency's access-log retention (at least a year) and log the change."""
    if retention_days < MIN_LOG_RETENTION_DAYS:
        raise ValidationError(
            f"The access log must be kept at least {MIN_LOG_RETENTION_DAYS} days."
        )
    with transaction.atomic():
        policy = LogPolicy.objects.select_for_update().order_by("id").first()
        previous = policy.retention_days if policy else None
        if policy is None:
            policy = LogPolicy(retention_days=retention_days)
        policy.retention_days = retention_days
        policy.save()
        record_event(
            action=Action.SETTINGS_CHANGED,
            request=request,
            actor=actor,
            reason="Access-log retention changed.",
            objects=[("log_policy", policy.pk)],
            details={"access_log_retention_days": [previous, retention_days]},
        )
    return policy


def log_retention_cutoff(*, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=log_retention_days())


@dataclass(frozen=True)
class PruneResult:
    removed: int
    cutoff: datetime.datetime
    refused: str = ""
    batches: int = 0


@dataclass(frozen=True)
class PrefixBatch:
    """A run of verified entries to remove in one short locked transaction."""

    after_id: int  # entries with ids above this ...
    last_id: int  # ... up to and including this one
    last_hash: str
    count: int
    checksum: int


@dataclass
class PrunePlan:
    """What verification found removable: the prefix of entries older than the cutoff."""

    cutoff: datetime.datetime
    batches: list[PrefixBatch]
    refused: str = ""


# Rows per locked transaction: each holds the chain lock (appends wait) for a moment only.
PRUNE_BATCH_ROWS = 2000
_PRUNE_LOCK = "alpr_audit_prune"


def _checksum_part(digest: str) -> int:
    """The first 60 bits of an entry hash; a batch's checksum is their sum (same in SQL)."""
    return int(digest[:15], 16)


class _PrefixCollector:
    """Fed every verified entry in chain order; keeps the batches of the doomed prefix."""

    def __init__(self, cutoff: datetime.datetime, batch_rows: int) -> None:
        self.cutoff_stamp = chain.utc_stamp(cutoff)
        self.batch_rows = batch_rows
        self.batches: list[PrefixBatch] = []
        self.done = False
        self._after = 0
        self._count = 0
        self._checksum = 0
        self._last: tuple[int, str] | None = None

    def __call__(self, row) -> None:
        if self.done:
            return
        if row["occurred_at"] >= self.cutoff_stamp:
            # The prefix ends at the first entry young enough to keep (as it always did).
            self.done = True
            self._close()
            return
        self._count += 1
        self._checksum += _checksum_part(row["entry_hash"])
        self._last = (row["id"], row["entry_hash"])
        if self._count >= self.batch_rows:
            self._close()

    def _close(self) -> None:
        if self._last is None:
            return
        last_id, last_hash = self._last
        self.batches.append(
            PrefixBatch(
                after_id=self._after,
                last_id=last_id,
                last_hash=last_hash,
                count=self._count,
                checksum=self._checksum,
            )
        )
        self._after = last_id
        self._count = 0
        self._checksum = 0
        self._last = None

    def finish(self) -> list[PrefixBatch]:
        self._close()
        return self.batches


def prune_plan(
    *, now: datetime.datetime | None = None, batch_rows: int = PRUNE_BATCH_ROWS
) -> PrunePlan:
    """Verify the whole log (chain and checkpoints) WITHOUT the chain lock, and note the
    prefix to remove. Appends go on meanwhile: they only extend the chain past the prefix."""
    cutoff = log_retention_cutoff(now=now)
    collector = _PrefixCollector(cutoff, batch_rows)
    verified = verify_log(on_row=collector)
    if not verified.ok:
        return PrunePlan(
            cutoff=cutoff,
            batches=[],
            refused=f"chain broken at #{verified.broken_id}: {verified.problem}",
        )
    return PrunePlan(cutoff=cutoff, batches=collector.finish())


class PrefixChanged(Exception):
    pass


def _remove_batch(*, plan: PrunePlan, batch: PrefixBatch, number: int) -> int:
    """Under the chain lock: check the batch is still what was verified, delete it, anchor it."""
    with transaction.atomic():
        chain.lock_chain()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), "
                "coalesce(sum(('x' || substr(entry_hash, 1, 15))::bit(60)::bigint), 0), "
                "max(CASE WHEN id = %s THEN entry_hash END) "
                "FROM audit_accessevent WHERE id > %s AND id <= %s",
                [batch.last_id, batch.after_id, batch.last_id],
            )
            count, checksum, last_hash = cursor.fetchone()
            if (count, int(checksum), last_hash) != (batch.count, batch.checksum, batch.last_hash):
                raise PrefixChanged(
                    f"entries #{batch.after_id + 1} to #{batch.last_id} changed after they were "
                    f"verified (now {count} entries, {batch.count} verified); nothing more was "
                    f"removed: run verify_audit_log"
                )
            cursor.execute(
                "SELECT set_config('alpr.audit_prune_before', %s, true)",
                [plan.cutoff.isoformat()],
            )
            Flag.objects.filter(event_id__gt=batch.after_id, event_id__lte=batch.last_id).delete()
            cursor.execute(
                "DELETE FROM audit_accessevent WHERE id > %s AND id <= %s",
                [batch.after_id, batch.last_id],
            )
            removed = cursor.rowcount
            cursor.execute("SELECT set_config('alpr.audit_prune_before', '', true)")
        ChainAnchor.objects.create(
            cutoff=plan.cutoff,
            last_removed_id=batch.last_id,
            last_removed_hash=batch.last_hash,
            removed_count=removed,
        )
        record_event(
            action=Action.LOG_PRUNED,
            reason=f"Access-log retention of {log_retention_days()} days.",
            details={
                "removed": removed,
                "cutoff": chain.utc_stamp(plan.cutoff),
                "last_removed_id": batch.last_id,
                "last_removed_hash": batch.last_hash,
                "batch": number,
                "batches": len(plan.batches),
            },
        )
    return removed


def prune_apply(
    plan: PrunePlan, *, on_batch: Callable[[PrefixBatch, float], None] | None = None
) -> PruneResult:
    """Remove the verified prefix, batch by batch, each in a short transaction under the lock.

    ``on_batch`` is told each batch and how long its transaction took (benchmarks).
    """
    if plan.refused:
        return PruneResult(removed=0, cutoff=plan.cutoff, refused=plan.refused)
    removed = 0
    for number, batch in enumerate(plan.batches, start=1):
        started = time.perf_counter()
        try:
            removed += _remove_batch(plan=plan, batch=batch, number=number)
        except PrefixChanged as exc:
            return PruneResult(
                removed=removed, cutoff=plan.cutoff, refused=str(exc), batches=number - 1
            )
        if on_batch is not None:
            on_batch(batch, time.perf_counter() - started)
    return PruneResult(removed=removed, cutoff=plan.cutoff, batches=len(plan.batches))


def prune_access_log(
    *, now: datetime.datetime | None = None, batch_rows: int = PRUNE_BATCH_ROWS
) -> PruneResult:
    """Remove entries older than the retention from the current schema's log.

    Verification (minutes on a large log) runs without the chain lock; the lock is held only
    while one batch of the verified prefix is re-checked, deleted and anchored.
    """
    with chain.schema_lock(_PRUNE_LOCK, wait=False) as obtained:
        if not obtained:
            return PruneResult(
                removed=0,
                cutoff=log_retention_cutoff(now=now),
                refused="another prune of this log is running",
            )
        return prune_apply(prune_plan(now=now, batch_rows=batch_rows))
