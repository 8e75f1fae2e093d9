"""The hash chain of the access log: canonical serialization, appending, verification.

Each schema (agency, and ``public`` for the platform) has its own chain. An entry's hash is
SHA-256 over the canonical JSON of every column, including its id, its UTC timestamp with
microseconds and the previous entry's hash; so editing, removing or reordering any entry
breaks the chain from that entry on. Appends are serialized per schema with a transaction
advisory lock, so ids, timestamps and the chain follow one order.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import ipaddress
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from django.db import connection, transaction
from django.db.models import F, Func, TextField, Value
from django.utils import timezone

from audit.models import (
    GENESIS_HASH,
    MIN_LOG_RETENTION_DAYS,
    AccessEvent,
    Action,
    ChainAnchor,
)

HASHED_FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_username",
    "action",
    "outcome",
    "reason",
    "purpose_category",
    "purpose_text",
    "case_number",
    "query",
    "objects_touched",
    "related_event_id",
    "details",
    "client_ip",
    "user_agent",
    "prev_hash",
)
_LOCK_NAMESPACE = "alpr_audit_log"


def utc_stamp(value: datetime.datetime) -> str:
    """``2026-11-29T01:02:03.000456Z``: the UTC instant with microseconds."""
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.lru_cache(maxsize=65536)
def canonical_ip(value: str | None) -> str | None:
    """One spelling per address, whichever way PostgreSQL's inet prints it back."""
    if not value:
        return None
    return ipaddress.ip_address(str(value).split("/")[0]).exploded


def canonical_json(value: Any) -> Any:
    """What a JSON column gives back after a round trip (tuples become lists, etc.)."""
    return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))


def canonical_bytes(values: Mapping[str, Any]) -> bytes:
    payload = {name: values[name] for name in HASHED_FIELDS}
    when = values["occurred_at"]
    payload["occurred_at"] = when if isinstance(when, str) else utc_stamp(when)
    payload["client_ip"] = canonical_ip(values["client_ip"])
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_hash(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(values)).hexdigest()


class _TenantConnection(Protocol):
    schema_name: str


def _schema() -> str:
    """The schema the connection is set to. django-tenants' connection has ``schema_name``;
    Django's type does not say so (the log core imports nothing of tenants, hence its own)."""
    return cast(_TenantConnection, connection).schema_name


def lock_chain() -> None:
    """Serialize appends to this schema's log until the current transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
            [_LOCK_NAMESPACE, _schema()],
        )


def lock_chains(schemas: Iterable[str]) -> None:
    """Take the chain locks of several schemas' logs in one statement, in schema-name order
    (entries of several logs written in one transaction: one order everywhere, no deadlock).
    Held until the transaction ends, like ``lock_chain``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(hashtext(%s), hashtext(s))) "
            "FROM (SELECT s FROM unnest(%s::text[]) AS s ORDER BY s) AS ordered",
            [_LOCK_NAMESPACE, sorted(set(schemas))],
        )


@contextlib.contextmanager
def schema_lock(namespace: str, *, wait: bool = True) -> Iterator[bool]:
    """A session-level advisory lock on ``namespace`` for this schema, for jobs that must not
    run twice at once (checkpoints, pruning). Not the chain lock: appends are not blocked.

    Yields whether the lock was obtained (always True when ``wait``).
    """
    schema = _schema()
    function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtext(%s), hashtext(%s))", [namespace, schema])
        row = cursor.fetchone()
    obtained = wait or bool(row and row[0])
    try:
        yield obtained
    finally:
        if obtained:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(hashtext(%s), hashtext(%s))", [namespace, schema]
                )


@contextlib.contextmanager
def snapshot() -> Iterator[None]:
    """One consistent, read-only view of the log for a long walk, without blocking writers.

    Inside a caller's transaction (tests, or a caller that needs its own), that transaction's
    view is used as it is.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def chain_head_hash() -> str:
    """The hash the next entry must link to (call with the chain lock held)."""
    last = AccessEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first()
    if last is not None:
        return last
    anchor = ChainAnchor.objects.order_by("-id").values_list("last_removed_hash", flat=True).first()
    return anchor or GENESIS_HASH


def reserve_id() -> int:
    """The id the current schema's next entry will have, drawn now under the chain lock.

    For two logs whose entries name each other (sharing between agencies): the caller must be
    in a transaction, and pass the id to ``append(entry_id=...)`` before it commits; the lock
    it took keeps every other append of this schema waiting until then, so the order of ids,
    times and the chain still agree.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("reserve_id() needs a transaction: the entry must follow in it.")
    lock_chain()
    return _next_id()


def _next_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('audit_accessevent', 'id'))")
        (new_id,) = cursor.fetchone()
    return int(new_id)


def sealed(
    fields: Mapping[str, Any], *, entry_id: int, occurred_at: datetime.datetime, prev_hash: str
) -> dict[str, Any]:
    """The row of an entry as stored: ``fields`` (``audit.services.event_fields``) in their
    canonical form, its id, its time, the hash it links to and its own hash.

    Every write of the log goes through here (``append`` one entry, ``append_drawn`` many),
    so an entry's hash is computed in one place.
    """
    values = dict(fields)
    values["query"] = canonical_json(values.get("query") or {})
    values["objects_touched"] = canonical_json(values.get("objects_touched") or [])
    values["details"] = canonical_json(values.get("details") or {})
    values["client_ip"] = canonical_ip(values.get("client_ip"))
    values["id"] = entry_id
    values["occurred_at"] = occurred_at
    values["prev_hash"] = prev_hash
    values["entry_hash"] = entry_hash(values)
    return values


def append(
    fields: dict[str, Any],
    *,
    occurred_at: datetime.datetime | None = None,
    entry_id: int | None = None,
) -> AccessEvent:
    """Append one entry to the current schema's chain inside the caller's transaction.

    ``occurred_at`` is for back-filled history (demo data, tests, benchmarks); live events
    take the time at which the chain lock was obtained. ``entry_id`` is an id drawn by
    ``reserve_id()`` (or ``draw_heads()``) in this transaction.
    """
    with transaction.atomic():
        lock_chain()
        new_id = entry_id if entry_id is not None else _next_id()
        values = sealed(
            fields,
            entry_id=new_id,
            occurred_at=occurred_at or timezone.now(),
            prev_hash=chain_head_hash(),
        )
        return AccessEvent.objects.create(**values)


# --- several logs at once: one statement to draw, one to write ------------------------------


@dataclass
class Head:
    """What ``draw_heads`` drew for one schema's log: the ids its next entries take, in order,
    and the hash the first of them links to."""

    schema: str
    ids: list[int]
    prev_hash: str


def _quoted(schema: str) -> str:
    return connection.ops.quote_name(schema)


def draw_heads(counts: Mapping[str, int]) -> dict[str, Head]:
    """For each schema, ``counts[schema]`` new entry ids and its chain's head hash, all in one
    statement (instead of a search-path switch, an id and a head read per log).

    Call in a transaction with the chain locks of these schemas held (``lock_chains``): the
    lock keeps every other append of each schema waiting until the entries are written, so
    ids, times and the chain agree, as with ``reserve_id``. The head is read as
    ``chain_head_hash`` reads it: the newest entry's hash, else the pruning anchor's, else
    genesis.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("draw_heads() needs a transaction: the entries must follow in it.")
    schemas = sorted(counts)
    if not schemas:
        return {}
    pieces: list[str] = []
    params: list[Any] = []
    for schema in schemas:
        table = f"{_quoted(schema)}.audit_accessevent"
        pieces.append(
            "SELECT %s::text, ARRAY(SELECT nextval(pg_get_serial_sequence(%s, 'id')) "  # noqa: S608 - quoted names only
            "FROM generate_series(1, %s) ORDER BY 1), "
            f"COALESCE((SELECT entry_hash FROM {table} ORDER BY id DESC LIMIT 1), "
            f"(SELECT last_removed_hash FROM {_quoted(schema)}.audit_chainanchor "
            "ORDER BY id DESC LIMIT 1), %s)"
        )
        params.extend([schema, table, int(counts[schema]), GENESIS_HASH])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(pieces), params)
        rows = cursor.fetchall()
    return {
        schema: Head(schema=schema, ids=[int(i) for i in ids], prev_hash=head)
        for schema, ids, head in rows
    }


def append_drawn(
    entries: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    heads: Mapping[str, Head],
    occurred_at: datetime.datetime | None = None,
) -> list[AccessEvent]:
    """Write entries to several schemas' logs in one statement, with ids and heads drawn by
    ``draw_heads`` in this transaction (one entry per drawn id, in order).

    ``entries``: (schema, ``event_fields``) pairs. Each entry is ``sealed`` exactly as
    ``append`` seals one, chained after its schema's head (or the entry before it in the same
    schema); the rows go in as one ``INSERT`` per schema, the inserts joined in one statement
    (data-modifying ``WITH`` parts, all carried out). No savepoint: the caller's transaction
    holds them all or none.
    """
    when = occurred_at or timezone.now()
    used = {schema: 0 for schema in heads}
    links = {schema: head.prev_hash for schema, head in heads.items()}
    by_schema: dict[str, list[dict[str, Any]]] = {}
    written: list[AccessEvent] = []
    for schema, fields in entries:
        head = heads[schema]
        if used[schema] >= len(head.ids):
            raise RuntimeError(f"No id left drawn for the log of {schema!r}.")
        values = sealed(
            fields, entry_id=head.ids[used[schema]], occurred_at=when, prev_hash=links[schema]
        )
        used[schema] += 1
        links[schema] = values["entry_hash"]
        by_schema.setdefault(schema, []).append(values)
        event = AccessEvent(**values)
        event._state.adding = False
        written.append(event)
    if not by_schema:
        return written
    columns = [f for f in AccessEvent._meta.concrete_fields]
    names = ", ".join(connection.ops.quote_name(str(f.column)) for f in columns)
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    inserts: list[str] = []
    params: list[Any] = []
    for schema, rows in by_schema.items():
        inserts.append(
            f"INSERT INTO {_quoted(schema)}.audit_accessevent ({names}) "  # noqa: S608 - quoted names only
            f"VALUES {', '.join([row_sql] * len(rows))}"
        )
        for row in rows:
            params.extend(f.get_db_prep_save(row[f.attname], connection) for f in columns)
    if len(inserts) == 1:
        statement = inserts[0]
    else:
        parts = ", ".join(f"alpr_w{n} AS ({sql})" for n, sql in enumerate(inserts))
        statement = f"WITH {parts} SELECT 1"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    return written


@dataclass(frozen=True)
class HeadClaim:
    """A head of the chain recorded outside the database: a signed checkpoint, or one kept by hand.

    The chain must still contain entry ``head_id`` with ``head_hash``, unless the entry was
    legitimately pruned (older than the pruning anchor's cutoff). ``head_at`` is the entry's
    UTC stamp when known; ``head_id`` None stands for an empty chain.
    """

    label: str
    head_id: int | None
    head_hash: str
    head_at: str | None = None


@dataclass
class VerifyResult:
    ok: bool
    checked: int = 0
    head_id: int | None = None
    head_hash: str = GENESIS_HASH
    broken_id: int | None = None
    problem: str = ""
    checkpoint: str = ""
    claims_checked: int = 0
    notes: list[str] = field(default_factory=list)

    def as_details(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "broken_id": self.broken_id,
            "problem": self.problem,
            "checkpoint": self.checkpoint,
            "checkpoints_checked": self.claims_checked,
        }

    def describe(self, where: str) -> str:
        if self.ok:
            matched = (
                f", {self.claims_checked} checkpoint(s) matched" if self.claims_checked else ""
            )
            return (
                f"{where}: access log intact, {self.checked} entries checked, "
                f"head #{self.head_id} {self.head_hash}{matched}"
            )
        return f"{where}: access log BROKEN at entry #{self.broken_id}: {self.problem}"


def _rows(chunk_size: int = 5000, *, after_id: int = 0) -> Iterator[dict[str, Any]]:
    """Every entry in id order, in chunks (keyset), without loading the log into memory."""
    last_id = after_id
    columns = [name for name in HASHED_FIELDS if name != "occurred_at"]
    # The UTC stamp is formatted by PostgreSQL exactly as utc_stamp() does: parsing a
    # million timestamps into datetimes only to format them again costs a quarter of the walk.
    stamp = Func(
        Func(Value("UTC"), F("occurred_at"), function="timezone", output_field=TextField()),
        Value('YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        function="to_char",
        output_field=TextField(),
    )
    while True:
        chunk = list(
            AccessEvent.objects.filter(id__gt=last_id)
            .order_by("id")
            .annotate(occurred_utc=stamp)
            .values(*columns, "occurred_utc", "entry_hash")[:chunk_size]
        )
        if not chunk:
            return
        for row in chunk:
            row["occurred_at"] = row.pop("occurred_utc")
            yield row
        last_id = chunk[-1]["id"]


def verify_chain(
    *,
    claims: Iterable[HeadClaim] = (),
    since: HeadClaim | None = None,
    on_row: Callable[[Mapping[str, Any]], None] | None = None,
) -> VerifyResult:
    """Walk the current schema's chain from its start (genesis or the latest anchor).

    ``claims``: heads recorded outside the database (checkpoints); each must still be in the
    chain with the same hash, or be covered by the pruning anchor. Without them, removing the
    newest entries leaves a chain that verifies.
    ``since``: a head already verified (the previous checkpoint): walk only from it on.
    ``on_row``: called with every verified entry, in chain order (pruning plans its batches).
    """
    walk = _Walk.start(claims)
    if since is not None and since.head_id is not None and walk.resumes_at(since.head_id):
        broken = walk.resume_from(since, head_id=since.head_id)
        if broken is not None:
            return broken
    for row in _rows(after_id=walk.after_id):
        broken = walk.check(row)
        if broken is not None:
            return broken
        if on_row is not None:
            on_row(row)
        walk.advance(row)
    return walk.finish()


@dataclass
class _Walk:
    """One walk along the chain: what the next entry must link to, and what is still to see."""

    anchor: ChainAnchor | None
    result: VerifyResult
    pending: dict[int, list[HeadClaim]]  # recorded heads not yet met, by entry id
    expected_prev: str
    prune_event_seen: bool  # the anchor's log_pruned entry (trivially, without an anchor)
    after_id: int = 0

    @classmethod
    def start(cls, claims: Iterable[HeadClaim]) -> _Walk:
        anchor = ChainAnchor.objects.order_by("-id").first()
        result = VerifyResult(ok=True)
        pending: dict[int, list[HeadClaim]] = {}
        for claim in claims:
            if claim.head_id is not None:
                pending.setdefault(claim.head_id, []).append(claim)
            result.claims_checked += 1
        return cls(
            anchor=anchor,
            result=result,
            pending=pending,
            expected_prev=anchor.last_removed_hash if anchor else GENESIS_HASH,
            prune_event_seen=anchor is None,
        )

    def broken(self, entry_id: int | None, problem: str, *, checkpoint: str = "") -> VerifyResult:
        return _broken(self.result, entry_id, problem, checkpoint=checkpoint)

    def resumes_at(self, head_id: int) -> bool:
        """Whether a head verified earlier is still a place to start (not pruned since)."""
        return self.anchor is None or head_id > self.anchor.last_removed_id

    def resume_from(self, since: HeadClaim, *, head_id: int) -> VerifyResult | None:
        """Start after ``since`` (entry ``head_id``), which must still be there, unchanged."""
        start = next(_rows(1, after_id=head_id - 1), None)
        if start is None or start["id"] != head_id:
            return self.broken(
                head_id,
                f"is missing, but {since.label} recorded it as the head",
                checkpoint=since.label,
            )
        if start["entry_hash"] != since.head_hash or entry_hash(start) != since.head_hash:
            return self.broken(
                head_id,
                f"does not match {since.label} (expected hash {since.head_hash})",
                checkpoint=since.label,
            )
        for claim in self.pending.pop(head_id, ()):
            if claim.head_hash != since.head_hash:
                return self.broken(
                    head_id,
                    f"does not match {claim.label} (expected hash {claim.head_hash})",
                    checkpoint=claim.label,
                )
        self.after_id = head_id
        self.expected_prev = since.head_hash
        self.prune_event_seen = True
        self.result.head_id, self.result.head_hash = head_id, since.head_hash
        return None

    def check(self, row: Mapping[str, Any]) -> VerifyResult | None:
        """``row`` is after the anchor, links to the entry before it, matches its own hash and
        every head recorded for it; otherwise the broken result."""
        if self.anchor is not None and row["id"] <= self.anchor.last_removed_id:
            return self.broken(row["id"], "entry older than the pruning anchor is still there")
        if row["prev_hash"] != self.expected_prev:
            return self.broken(
                row["id"],
                "does not link to the entry before it (an entry was removed, inserted or "
                "reordered here)",
            )
        if entry_hash(row) != row["entry_hash"]:
            return self.broken(row["id"], "its content does not match its hash (edited)")
        for claim in self.pending.pop(row["id"], ()):
            if claim.head_hash != row["entry_hash"]:
                return self.broken(
                    row["id"],
                    f"does not match {claim.label}: the entry was rewritten after it was "
                    f"recorded (expected hash {claim.head_hash}, found {row['entry_hash']})",
                    checkpoint=claim.label,
                )
        return None

    def advance(self, row: Mapping[str, Any]) -> None:
        """``row`` verified: the next entry must link to it."""
        if (
            self.anchor is not None
            and row["action"] == Action.LOG_PRUNED
            and (row["details"] or {}).get("last_removed_hash") == self.anchor.last_removed_hash
        ):
            self.prune_event_seen = True
        self.expected_prev = row["entry_hash"]
        self.result.checked += 1
        self.result.head_id = row["id"]
        self.result.head_hash = row["entry_hash"]

    def finish(self) -> VerifyResult:
        """The end of the chain: the anchor's log_pruned entry seen, every recorded head met
        or legitimately pruned."""
        anchor = self.anchor
        if anchor is not None and not self.prune_event_seen:
            return self.broken(
                anchor.last_removed_id,
                "the pruning anchor has no matching log_pruned entry in the chain",
            )
        if anchor is not None and self.result.head_id is None:
            self.result.head_hash = anchor.last_removed_hash
        for head_id in sorted(self.pending):
            for claim in self.pending[head_id]:
                problem = _unmatched_claim(claim, anchor=anchor, head_id=self.result.head_id)
                if problem:
                    return self.broken(head_id, problem, checkpoint=claim.label)
                self.result.notes.append(
                    f"{claim.label}: entry pruned, covered by the pruning anchor"
                )
        return self.result


def _unmatched_claim(claim: HeadClaim, *, anchor: ChainAnchor | None, head_id: int | None) -> str:
    """Why a recorded head that is not in the chain is a problem ("" when it was pruned)."""
    if claim.head_id is None:  # an empty log was recorded: nothing to find
        return ""
    if anchor is not None and claim.head_id <= anchor.last_removed_id:
        if claim.head_id == anchor.last_removed_id and claim.head_hash != anchor.last_removed_hash:
            return (
                f"does not match {claim.label}: the pruning anchor gives it another hash "
                f"({anchor.last_removed_hash})"
            )
        if claim.head_at is None:
            return ""
        cutoff = utc_stamp(anchor.cutoff)
        youngest_prunable = utc_stamp(
            timezone.now() - datetime.timedelta(days=MIN_LOG_RETENTION_DAYS)
        )
        if claim.head_at >= cutoff or claim.head_at > youngest_prunable:
            return (
                f"is gone, but {claim.label} recorded it at {claim.head_at}, after the pruning "
                f"cutoff ({cutoff}): entries were removed that were not old enough to prune"
            )
        return ""
    if head_id is None or claim.head_id > head_id:
        ends = f"#{head_id}" if head_id is not None else "nothing"
        return (
            f"is missing: the newest entries, up to the head recorded by {claim.label}, were "
            f"removed (the log now ends at {ends})"
        )
    return f"is missing, but {claim.label} recorded it as the head"


def _broken(
    result: VerifyResult, entry_id: int | None, problem: str, *, checkpoint: str = ""
) -> VerifyResult:
    result.ok = False
    result.broken_id = entry_id
    result.problem = problem
    result.checkpoint = checkpoint
    return result
