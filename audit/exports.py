"""CSV and XLSX exports of filtered access-log events, streamed with little memory.

Every text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is prefixed with an apostrophe, so opening an
export never runs what a user typed into a purpose or a plate field.
"""

from __future__ import annotations

import csv
import tempfile
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

from django.db import connection
from django.db.models import Case, F, Func, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from audit.selectors import events_filtered
from audit.services import record_event

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
CHUNK = 5000

COLUMNS = [
    "id",
    "occurred_at_utc",
    "occurred_at_local",
    "timezone",
    "username",
    "user_id",
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
    "entry_hash",
]

# Widths in characters: what the column usually holds (times, names, hashes), long text cut
# off at a readable width (the cell keeps all of it).
COLUMN_WIDTHS = {
    "id": 9,
    "occurred_at_utc": 27,
    "occurred_at_local": 27,
    "timezone": 20,
    "username": 18,
    "user_id": 9,
    "action": 16,
    "outcome": 10,
    "reason": 40,
    "purpose_category": 24,
    "purpose_text": 40,
    "case_number": 16,
    "query": 45,
    "objects_touched": 30,
    "related_event_id": 12,
    "details": 45,
    "client_ip": 16,
    "user_agent": 30,
    "entry_hash": 20,
}


def access_log_export(
    *,
    request: HttpRequest,
    fmt: str,
    filters: Mapping[str, Any],
    active_filters: Mapping[str, Any],
    tz: zoneinfo.ZoneInfo,
) -> QuerySet[AccessEvent]:
    """Log an auditor's export of the access log (``export``, the filters as its query) and
    give the entries to write.

    The entry is written before the file: a download cut short still counts as an export.
    """
    record_event(
        action=Action.EXPORT,
        request=request,
        reason=f"Access-log export ({fmt.upper()}).",
        query=active_filters,
        details={"format": fmt, "what": "access_log", "filters": dict(active_filters)},
    )
    return events_filtered(filters=dict(filters), tz=tz)


def neutralize(value: Any) -> Any:
    """Make a text cell inert for spreadsheets; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _rows(qs: QuerySet[AccessEvent], tz: zoneinfo.ZoneInfo) -> Iterator[list[Any]]:
    """The export's rows as Python lists (for XLSX), cells already made inert by SQL."""
    for row in _export_values(qs, tz).iterator(chunk_size=CHUNK):
        yield list(row)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _inert_sql(column: str) -> Case:
    """The SQL twin of ``neutralize`` for one text column."""
    return Case(
        When(
            **{f"{column}__regex": r"^[-=+@\t\r]"},
            then=Concat(Value("'"), F(column), output_field=TextField()),
        ),
        default=F(column),
        output_field=TextField(),
    )


def _to_char(zone: str, fmt: str) -> Func:
    local = Func(Value(zone), F("occurred_at"), function="timezone", output_field=TextField())
    return Func(local, Value(fmt), function="to_char", output_field=TextField())


def _export_values(qs: QuerySet[AccessEvent], tz: zoneinfo.ZoneInfo) -> QuerySet:
    """Rows of the export's columns; timestamps formatted and text cells made inert in SQL
    (a Python object per cell would halve the export's speed)."""
    return (
        qs.order_by("-id")
        .annotate(
            x_utc=_to_char("UTC", 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            x_local=_to_char(tz.key, "YYYY-MM-DD HH24:MI:SS"),
            x_zone=Value(tz.key, output_field=TextField()),
            x_username=_inert_sql("actor_username"),
            x_reason=_inert_sql("reason"),
            x_category=_inert_sql("purpose_category"),
            x_purpose=_inert_sql("purpose_text"),
            x_case=_inert_sql("case_number"),
            x_query=Cast("query", TextField()),
            x_objects=Cast("objects_touched", TextField()),
            x_details=Cast("details", TextField()),
            x_ip=Func(F("client_ip"), function="host", output_field=TextField()),
            x_agent=_inert_sql("user_agent"),
        )
        .values_list(
            "id",
            "x_utc",
            "x_local",
            "x_zone",
            "x_username",
            "actor_id",
            "action",
            "outcome",
            "x_reason",
            "x_category",
            "x_purpose",
            "x_case",
            "x_query",
            "x_objects",
            "related_event_id",
            "x_details",
            "x_ip",
            "x_agent",
            "entry_hash",
        )  # fmt: skip
    )


def csv_chunks(qs: QuerySet[AccessEvent], *, tz: zoneinfo.ZoneInfo, schema_name: str):
    """Yield the CSV in blocks of about 64 KB, produced by PostgreSQL's COPY.

    COPY streams rows straight from the server without building a Python object per row,
    so memory stays flat and a million rows take seconds. Runs in the agency's schema
    however late the response is consumed.
    """
    import psycopg

    yield csv.writer(_Echo(), lineterminator="\n").writerow(COLUMNS).encode()
    with schema_context(schema_name):
        sql, params = _export_values(qs, tz).query.sql_with_params()
        connection.ensure_connection()
        literal = psycopg.ClientCursor(connection.connection).mogrify(sql, params)
        block = bytearray()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY ({literal}) TO STDOUT WITH (FORMAT csv)") as copy,
        ):
            for data in copy:
                block += data
                if len(block) >= 65536:
                    yield bytes(block)
                    block.clear()
        if block:
            yield bytes(block)


def csv_stream(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """Any table as CSV lines (header first), every text cell made inert; for registers and
    lists smaller than the access log (which COPY streams, ``csv_chunks``)."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(columns).encode()
    for row in rows:
        yield writer.writerow([neutralize(value) for value in row]).encode()


def column_width(name: str, widths: Mapping[str, int] | None = None) -> int:
    """A column's width in characters: as given, else fitted to its name (12 to 30)."""
    if widths and name in widths:
        return widths[name]
    return min(max(len(name) + 4, 12), 30)


def write_rows_xlsx(
    *,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    out: IO[bytes],
    sheet_name: str,
    widths: Mapping[str, int] | None = None,
) -> int:
    """Write any table to ``out`` as a workbook, row by row (constant memory); returns rows
    written. Text cells are written as text (never formulas, URLs or numbers) and made inert.
    The header row is frozen, every column has a filter, and columns are ``widths`` wide
    (characters; else fitted to their names)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "in_memory": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    sheet = workbook.add_worksheet(sheet_name)
    header = workbook.add_format({"bold": True, "bg_color": "#E8EEF5", "bottom": 1})
    for col, name in enumerate(columns):
        sheet.set_column(col, col, column_width(name, widths))
    sheet.write_row(0, 0, list(columns), header)
    sheet.freeze_panes(1, 0)  # the header stays in view while scrolling
    written = 0
    for written, row in enumerate(rows, start=1):  # noqa: B007
        if written > XLSX_MAX_ROWS:
            written -= 1
            break
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(written, col, neutralize(value))
            elif isinstance(value, bool):
                sheet.write_boolean(written, col, value)
            else:
                sheet.write_number(written, col, value)
    sheet.autofilter(0, 0, max(written, 1), len(columns) - 1)  # a filter on every column
    workbook.close()
    return written


def write_xlsx(qs: QuerySet[AccessEvent], *, tz: zoneinfo.ZoneInfo, out: IO[bytes]) -> int:
    """Write the workbook to ``out`` row by row (constant memory); returns rows written."""
    return write_rows_xlsx(
        columns=COLUMNS, rows=_rows(qs, tz), out=out, sheet_name="Access log", widths=COLUMN_WIDTHS
    )
