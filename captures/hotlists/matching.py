"""Matching one read against every active hotlist: one indexed lookup on the match key.

``match_read`` is called by the code that stores a read, in its transaction: ingest (the
camera's own read), reading (the server's reading) and review (a person's correction). An
entry matches when its plate equals the read's (rule ``exact``) or only their match keys are
equal (``match_key``: the confusable characters of ``captures.reading.matching``), or the
read's key with a look-alike glyph replaced is the entry's (``look_alike``: an L that may be
California's open-top 4, ``captures.reading.matching.look_alike_keys``), and, when both the entry and the
read name a state, the states are equal. Expired entries and inactive lists never match (the
lookup compares ``expires_at`` with now, so an entry stops matching the moment it expires,
before the nightly purge removes it).

Cost: the lookup is one query on the ``hotlist_entry_match_key`` b-tree index (an exact plate
has the same match key, so one index serves every rule; a read with Ls looks up a few keys at
once); a read without hits writes nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from captures.hotlists.models import Hit
from captures.models import Capture
from captures.reading.matching import look_alike_keys, match_key, normalize_plate

# One table, so planning it costs next to nothing (the lists are read only when it finds one).
_LOOKUP = """
SELECT e.id, e.plate, e.state, e.reason, e.reference, e.notes, e.case_number,
       e.purpose_category, e.hotlist_id
  FROM hotlists_hotlistentry e
 WHERE e.match_key = ANY(%s) AND (e.expires_at IS NULL OR e.expires_at > %s)
"""
_LISTS = "SELECT id, name, alerts FROM hotlists_hotlist WHERE active AND id = ANY(%s)"


@dataclass(frozen=True)
class EntryMatch:
    entry_id: int
    plate: str
    state: str
    reason: str
    reference: str
    notes: str
    case_number: str
    purpose_category: str
    hotlist_id: int
    hotlist_name: str
    alerts: bool
    rule: str


def entries_matching(
    *, plate: str, state: str = "", now: datetime.datetime | None = None
) -> list[EntryMatch]:
    """The active, unexpired entries a read of ``plate`` (and ``state``) matches."""
    plate = normalize_plate(plate)[:16]
    if not plate:
        return []
    state = (state or "").upper()
    key = match_key(plate)
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUP, [[key, *look_alike_keys(plate)], now or timezone.now()])
        rows = cursor.fetchall()
        if not rows:
            return []
        cursor.execute(_LISTS, [sorted({row[8] for row in rows})])
        lists = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    matches = []
    for row in rows:
        entry_state = row[2]
        if row[8] not in lists or (state and entry_state and state != entry_state):
            continue
        if row[1] == plate:
            rule = Hit.Rule.EXACT
        elif match_key(row[1]) == key:
            rule = Hit.Rule.MATCH_KEY
        else:
            rule = Hit.Rule.LOOK_ALIKE
        matches.append(
            EntryMatch(
                entry_id=row[0],
                plate=row[1],
                state=entry_state,
                reason=row[3],
                reference=row[4],
                notes=row[5],
                case_number=row[6],
                purpose_category=row[7],
                hotlist_id=row[8],
                hotlist_name=lists[row[8]][0],
                alerts=lists[row[8]][1],
                rule=str(rule),
            )
        )
    return matches


def match_read(
    *,
    capture: Capture,
    plate: str,
    state: str,
    confidence: float | None,
    source: Hit.Source,
    now: datetime.datetime | None = None,
) -> list[Hit]:
    """Match one read of ``capture`` and record a hit per matching entry (once per entry).

    Call inside the transaction that stores the read: the hits land with it or not at all.
    Returns the hits recorded by this call (a hit of the same capture and entry recorded
    earlier, e.g. the camera's read before the server's, is not recorded again).
    """
    now = now or timezone.now()
    matches = entries_matching(plate=plate, state=state, now=now)
    if not matches:
        return []
    read_plate = normalize_plate(plate)[:16]
    hits = [
        Hit(
            capture=capture,
            entry_id=match.entry_id,
            hotlist_id=match.hotlist_id,
            hotlist_name=match.hotlist_name,
            alerts=match.alerts,
            rule=match.rule,
            source=source,
            read_plate=read_plate,
            read_state=(state or "").upper(),
            read_confidence=confidence,
            entry_plate=match.plate,
            entry_state=match.state,
            reason=match.reason,
            reference=match.reference,
            notes=match.notes,
            entry_case_number=match.case_number,
            entry_purpose_category=match.purpose_category,
            camera_id=capture.camera_id,
            camera_name=capture.camera.name if capture.camera_id else "",
            captured_at=capture.captured_at,
            matched_at=now,
        )
        for match in matches
    ]
    existing = set(
        Hit.objects.filter(capture=capture, entry_id__in=[m.entry_id for m in matches]).values_list(
            "entry_id", flat=True
        )
    )
    new = [hit for hit in hits if hit.entry_id not in existing]
    Hit.objects.bulk_create(new, ignore_conflicts=True)
    return list(Hit.objects.filter(capture=capture, entry_id__in=[hit.entry_id for hit in new]))
