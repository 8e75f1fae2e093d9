"""Importing an extract (a state's NCIC hotlist file) into a list: parse, check, replace.

Two formats, told apart by the first line:

CSV (UTF-8), with the header ``plate,state,reason,reference,expires,notes`` (any order, the
names as here; ``state``, ``reference``, ``expires`` and ``notes`` may be empty):
``7ABC123,CA,stolen_vehicle,V123456789,2026-12-31,grey Civic``.

Fixed width (NCIC style; one record a line, columns counted from 1, short fields padded with
spaces, lines starting with ``#`` and blank lines ignored):

=========  =====  ==========================================================
columns    width  field
=========  =====  ==========================================================
1-10       10     plate (letters and digits; spaces, dashes are dropped)
11-12      2      state (two-letter code, or blank when unknown)
13-14      2      reason code (``REASON_CODES``: SV, SP, WP, MP, AA, PO, BO, OT)
15-24      10     reference (e.g. the NCIC number)
25-32      8      expires, ``YYYYMMDD`` (blank: no expiry date in the extract)
33-        rest   notes (optional)
=========  =====  ==========================================================

An expiry date means the end of that day in the agency's time zone. The import replaces the
list's entries in one transaction (matching never sees half a list): entries the file no
longer has are removed, new ones added, the rest left as they are (same plate, state, reason,
reference, expiry and notes). Bad lines are reported with their numbers and left out; a file
with more than the policy's share of bad lines is refused as a whole, and nothing changes.
Rows go in through ``COPY`` into a temporary table and two set-based statements, so a
1,000,000-line extract imports in well under a minute (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import csv
import datetime
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import Action, Outcome
from audit.services import record_event
from captures.hotlists.models import Hotlist, HotlistEntry, HotlistPolicy, Reason
from captures.reading.matching import match_key, normalize_plate
from captures.reading.states import STATES
from tenants.models import Agency

CSV_FIELDS = ("plate", "state", "reason", "reference", "expires", "notes")
REASON_CODES = {
    "SV": Reason.STOLEN_VEHICLE,
    "SP": Reason.STOLEN_PLATE,
    "WP": Reason.WANTED_PERSON,
    "MP": Reason.MISSING_PERSON,
    "AA": Reason.AMBER_ALERT,
    "PO": Reason.PROTECTIVE_ORDER,
    "BO": Reason.BOLO,
    "OT": Reason.OTHER,
}
_REASONS: dict[str, str] = {
    **{code.lower(): str(reason) for code, reason in REASON_CODES.items()},
    **{str(r.value): str(r.value) for r in Reason},
    **{str(r.label).lower(): str(r.value) for r in Reason},
    "amber": str(Reason.AMBER_ALERT),
}
# Fixed-width columns (0-based slices).
FIXED = {
    "plate": (0, 10),
    "state": (10, 12),
    "reason": (12, 14),
    "reference": (14, 24),
    "expires": (24, 32),
}
FIXED_MIN_LENGTH = 14  # up to the reason code
NOTES_MAX = 500
LISTED_REFUSALS = 200  # refused lines listed in the report (all are counted)


class ImportRefused(ValueError):
    """The file as a whole cannot be imported (the report says why); nothing changed."""

    def __init__(self, message: str, report: ImportReport):
        super().__init__(message)
        self.report = report


@dataclass
class ImportReport:
    hotlist: str
    file_name: str
    file_format: str = ""
    lines: int = 0
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    refused_count: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)
    refused_file: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # per phase, for the benchmark

    def refuse_line(self, line: int, message: str) -> None:
        self.refused_count += 1
        if len(self.refused) < LISTED_REFUSALS:
            self.refused.append((line, message))

    def as_details(self) -> dict[str, Any]:
        return {
            "hotlist": self.hotlist,
            "file": self.file_name,
            "format": self.file_format,
            "lines": self.lines,
            "added": self.added,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "refused_lines": self.refused_count,
            "refused_line_numbers": [line for line, _ in self.refused[:50]],
        }

    def summary(self) -> str:
        if self.refused_file:
            return f"Refused: {self.refused_file}"
        return (
            f"{self.added} added, {self.removed} removed, {self.unchanged} unchanged, "
            f"{self.refused_count} lines refused"
        )


Row = tuple[str, str, str, str, str, datetime.datetime | None, str]


class _Parser:
    def __init__(self, agency: Agency, now: datetime.datetime):
        self.tz = agency.tz
        self.now = now
        self._dates: dict[str, datetime.datetime | None] = {}

    def expires(self, text: str) -> datetime.datetime | None:
        text = text.strip()
        if text in self._dates:
            return self._dates[text]
        value: datetime.datetime | None = None
        if text:
            fmt = "%Y%m%d" if len(text) == 8 and text.isdigit() else "%Y-%m-%d"
            try:
                day = datetime.datetime.strptime(text, fmt).date()
            except ValueError:
                raise ValueError(f"expiry “{text[:20]}” is not a date (YYYY-MM-DD)") from None
            value = datetime.datetime.combine(
                day + datetime.timedelta(days=1), datetime.time(), tzinfo=self.tz
            )
        self._dates[text] = value
        return value

    def row(
        self, plate: str, state: str, reason: str, reference: str, expires: str, notes: str
    ) -> Row:
        normalized = normalize_plate(plate)
        if not normalized:
            raise ValueError("no plate (letters and digits)")
        if len(normalized) > 10:
            raise ValueError(f"plate “{normalized[:16]}” is longer than 10 characters")
        state = state.strip().upper()
        if state and state not in STATES:
            raise ValueError(f"“{state[:4]}” is not a state code")
        code = _REASONS.get(reason.strip().lower())
        if code is None:
            raise ValueError(f"unknown reason “{reason.strip()[:30]}”")
        reference = reference.strip()
        if len(reference) > 40:
            raise ValueError("reference longer than 40 characters")
        expires_at = self.expires(expires)
        if expires_at is not None and expires_at <= self.now:
            raise ValueError("already expired")
        return (
            normalized,
            match_key(normalized),
            state,
            code,
            reference,
            expires_at,
            notes.strip()[:NOTES_MAX],
        )


def _lines(data: bytes) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per line; text None for a line that is not UTF-8 or holds a NUL."""
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        yield number, None if "\x00" in text else text


def _parse_csv(
    lines: list[tuple[int, str | None]], parser: _Parser, report: ImportReport
) -> list[Row]:
    header = [name.strip().lower() for name in next(csv.reader([lines[0][1] or ""]))]
    missing = [name for name in ("plate", "reason") if name not in header]
    unknown = [name for name in header if name not in CSV_FIELDS]
    if missing or unknown:
        raise ValueError(
            "the header must name the columns plate,state,reason,reference,expires,notes"
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + (f" (unknown: {', '.join(u[:20] for u in unknown[:5])})" if unknown else "")
        )
    rows: list[Row] = []
    width = len(header)
    order = [header.index(name) if name in header else None for name in CSV_FIELDS]
    numbers = [number for number, _ in lines[1:]]

    def texts() -> Iterator[str]:
        for number, text in lines[1:]:
            if text is None:
                report.lines += 1
                report.refuse_line(number, "not UTF-8 text")
                yield ""
            else:
                yield text

    # One reader over every line (a reader per line costs more than the checks do).
    reader = csv.reader(texts())
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.lines += 1
            report.refuse_line(numbers[reader.line_num - 1], f"not CSV: {exc}")
            continue
        if not values or not any(v.strip() for v in values):
            continue
        number = numbers[reader.line_num - 1]
        report.lines += 1
        if len(values) != width:
            report.refuse_line(number, f"{len(values)} columns, the header has {width}")
            continue
        try:
            rows.append(parser.row(*(values[i] if i is not None else "" for i in order)))
        except ValueError as exc:
            report.refuse_line(number, str(exc))
    return rows


def _parse_fixed(
    lines: list[tuple[int, str | None]], parser: _Parser, report: ImportReport
) -> list[Row]:
    rows: list[Row] = []
    for number, text in lines:
        if text is None:
            report.lines += 1
            report.refuse_line(number, "not UTF-8 text")
            continue
        if not text.strip() or text.startswith("#"):
            continue
        report.lines += 1
        if len(text.rstrip()) < FIXED_MIN_LENGTH:
            report.refuse_line(number, "shorter than the layout (plate, state, reason code)")
            continue
        parts = {name: text[a:b] for name, (a, b) in FIXED.items()}
        try:
            rows.append(
                parser.row(
                    parts["plate"],
                    parts["state"],
                    parts["reason"],
                    parts["reference"],
                    parts["expires"],
                    text[32:],
                )
            )
        except ValueError as exc:
            report.refuse_line(number, str(exc))
    return rows


def parse_extract(
    *, data: bytes, agency: Agency, report: ImportReport, now: datetime.datetime
) -> list[Row]:
    """The file's good rows (duplicates dropped); bad lines go into ``report``.

    Raises ``ValueError`` for a file that is neither format (e.g. a CSV header that is wrong).
    """
    lines = list(_lines(data))
    first = next(((n, t) for n, t in lines if t is None or t.strip()), None)
    if first is None:
        raise ValueError("the file is empty")
    parser = _Parser(agency, now)
    is_csv = first[1] is not None and first[1].strip().lower().startswith("plate")
    report.file_format = "csv" if is_csv else "fixed-width"
    if is_csv:
        rows = _parse_csv(lines[lines.index(first) :], parser, report)
    else:
        rows = _parse_fixed(lines, parser, report)
    return list(dict.fromkeys(rows))  # exact repeats count once


COPY_CHUNK = 20_000
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_line(row: Row) -> str:
    plate, key, state, reason, reference, expires_at, notes = row
    expires = expires_at.isoformat() if expires_at is not None else "\\N"
    return (
        f"{plate}\t{key}\t{state}\t{reason}\t{reference.translate(_COPY_ESCAPES)}\t"
        f"{expires}\t{notes.translate(_COPY_ESCAPES)}\n"
    )


def _copy_rows(cursor: Any, rows: list[Row]) -> None:
    # Dropped at commit; dropped first too, for a second import in one transaction.
    cursor.execute("DROP TABLE IF EXISTS pg_temp.hotlist_import")
    cursor.execute(
        "CREATE TEMP TABLE hotlist_import (plate varchar(16), match_key varchar(16), "
        "state varchar(2), reason varchar(20), reference varchar(40), expires_at timestamptz, "
        "notes text) ON COMMIT DROP"
    )
    raw = cursor.cursor  # psycopg's own cursor, for COPY
    with raw.copy(
        "COPY hotlist_import (plate, match_key, state, reason, reference, expires_at, notes) "
        "FROM STDIN"
    ) as copy:
        for start in range(0, len(rows), COPY_CHUNK):  # text format, written in chunks
            copy.write("".join(_copy_line(row) for row in rows[start : start + COPY_CHUNK]))
    cursor.execute("ANALYZE hotlist_import")


_ENTRY_COLUMNS = (
    "hotlist_id, plate, match_key, state, reason, reference, expires_at, notes, "
    "purpose_category, purpose_text, case_number, entered_by_id, entered_by_username, "
    "entered_at, reentered_after_expiry"
)


def _copy_entries(
    cursor: Any, rows: list[Row], hotlist: Hotlist, username: str, now: datetime.datetime
) -> int:
    """COPY the rows into an empty list's entries directly (no diff to make)."""
    tail = f"\t\t\t\t\\N\t{username[:150].translate(_COPY_ESCAPES)}\t{now.isoformat()}\tf\n"
    head = f"{hotlist.pk}\t"
    with cursor.cursor.copy(f"COPY hotlists_hotlistentry ({_ENTRY_COLUMNS}) FROM STDIN") as copy:
        for start in range(0, len(rows), COPY_CHUNK):
            copy.write(
                "".join(
                    head + _copy_line(row)[:-1] + tail for row in rows[start : start + COPY_CHUNK]
                )
            )
    return len(rows)


_SAME = (
    "s.plate = e.plate AND s.state = e.state AND s.reason = e.reason AND "
    "s.reference = e.reference AND s.notes = e.notes AND "
    "s.expires_at IS NOT DISTINCT FROM e.expires_at"
)


def _replace(
    cursor: Any, *, hotlist: Hotlist, username: str, now: datetime.datetime
) -> tuple[int, int]:
    # Both statements compare a million rows with a million: hash anti-joins, whatever the
    # table's statistics say (right after a first load they may say the table is empty, and a
    # nested loop over a million rows each would take hours).
    cursor.execute("ANALYZE hotlists_hotlistentry")
    cursor.execute("SET LOCAL enable_nestloop = off")
    cursor.execute(
        "DELETE FROM hotlists_hotlistentry e WHERE e.hotlist_id = %s AND NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM hotlist_import s WHERE {_SAME})",
        [hotlist.pk],
    )
    removed = cursor.rowcount
    cursor.execute(
        "INSERT INTO hotlists_hotlistentry (hotlist_id, plate, match_key, state, reason, "  # noqa: S608
        "reference, notes, purpose_category, purpose_text, case_number, entered_by_id, "
        "entered_by_username, entered_at, expires_at, reentered_after_expiry) "
        "SELECT %s, s.plate, s.match_key, s.state, s.reason, s.reference, s.notes, '', '', '', "
        "NULL, %s, %s, s.expires_at, false FROM hotlist_import s WHERE NOT EXISTS "
        f"(SELECT 1 FROM hotlists_hotlistentry e WHERE e.hotlist_id = %s AND {_SAME})",
        [hotlist.pk, username[:150], now, hotlist.pk],
    )
    return removed, cursor.rowcount


def hotlist_import(
    *,
    agency: Agency,
    hotlist: Hotlist,
    data: bytes,
    file_name: str,
    actor: Any = None,
    request: HttpRequest | None = None,
    username: str = "",
    now: datetime.datetime | None = None,
) -> ImportReport:
    """Replace ``hotlist``'s entries with the file's, in one transaction, and log it.

    Returns the report; raises :class:`ImportRefused` (logged as refused, nothing changed) for
    a file that cannot be read, one with too many bad lines, or a list of typed-in entries.
    """
    now = now or timezone.now()
    report = ImportReport(hotlist=hotlist.name, file_name=file_name[:200])
    username = username or (actor.get_username() if actor is not None else "")
    policy = HotlistPolicy.current()
    rows: list[Row] = []
    if hotlist.kind != Hotlist.Kind.EXTRACT:
        report.refused_file = (
            "this list holds entries typed in by people (each with its purpose); only an "
            "extract list is replaced by a file"
        )
    else:
        try:
            started = time.perf_counter()
            rows = parse_extract(data=data, agency=agency, report=report, now=now)
            report.seconds["parse"] = time.perf_counter() - started
        except ValueError as exc:
            report.refused_file = str(exc)
    if not report.refused_file and report.lines == 0:
        report.refused_file = "the file has no entries"
    if not report.refused_file and report.refused_count * 100 > (
        policy.max_bad_line_percent * report.lines
    ):
        report.refused_file = (
            f"{report.refused_count} of {report.lines} lines are bad, more than the "
            f"{policy.max_bad_line_percent}% the agency's policy allows"
        )
    with transaction.atomic():
        if report.refused_file:
            record_event(
                action=Action.HOTLIST_IMPORTED,
                request=request,
                actor=actor,
                outcome=Outcome.REFUSED,
                reason=report.refused_file,
                objects=[("hotlist", hotlist.pk)],
                details=report.as_details(),
                username=username if actor is None and username else None,
            )
        else:
            locked = Hotlist.objects.select_for_update().get(pk=hotlist.pk)
            started = time.perf_counter()
            with connection.cursor() as cursor:
                if HotlistEntry.objects.filter(hotlist=locked).exists():
                    _copy_rows(cursor, rows)
                    report.seconds["copy"] = time.perf_counter() - started
                    report.removed, report.added = _replace(
                        cursor, hotlist=locked, username=username, now=now
                    )
                    report.seconds["replace"] = (
                        time.perf_counter() - started - report.seconds["copy"]
                    )
                else:  # the first load: straight into the table
                    report.added = _copy_entries(cursor, rows, locked, username, now)
                    cursor.execute("ANALYZE hotlists_hotlistentry")
                    report.seconds["copy"] = time.perf_counter() - started
            report.unchanged = len(rows) - report.added
            Hotlist.objects.filter(pk=locked.pk).update(
                imported_at=now, imported_by_username=username[:150]
            )
            record_event(
                action=Action.HOTLIST_IMPORTED,
                request=request,
                actor=actor,
                objects=[("hotlist", hotlist.pk)],
                details=report.as_details(),
                username=username if actor is None and username else None,
            )
    if report.refused_file:
        raise ImportRefused(report.refused_file, report)
    return report
