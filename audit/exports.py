"""CSV and XLSX exports of filtered access-log events, streamed with little memory.

Every text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is prefixed with an apostrophe, so opening an
export never runs what a user typed into a purpose or a plate field.
"""

from __future__ import annotations

import csv
import tempfile
import zoneinfo
from collections.abc import Iterator
from typing import IO, Any

from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django_tenants.utils import schema_context

from audit.models import AccessEvent

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


def neutralize(value: Any) -> Any:
    """Make a text cell inert for spreadsheets; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _rows(qs: QuerySet[AccessEvent], tz: zoneinfo.ZoneInfo) -> Iterator[list[Any]]:
    # Timestamps are formatted by PostgreSQL: building a million datetimes in Python would
    # halve the export's speed.
    values = (
        qs.order_by("-id")
        .annotate(
            utc_text=RawSQL(
                "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", []
            ),
            local_text=RawSQL(
                "to_char(occurred_at AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI:SS')", [tz.key]
            ),
            query_text=Cast("query", TextField()),
            objects_text=Cast("objects_touched", TextField()),
            details_text=Cast("details", TextField()),
            ip_text=Cast("client_ip", TextField()),
        )
        .values_list(
            "id",
            "utc_text",
            "local_text",
            "actor_username",
            "actor_id",
            "action",
            "outcome",
            "reason",
            "purpose_category",
            "purpose_text",
            "case_number",
            "query_text",
            "objects_text",
            "related_event_id",
            "details_text",
            "ip_text",
            "user_agent",
            "entry_hash",
        )
    )
    zone = tz.key
    prefixes = FORMULA_PREFIXES

    def inert(value: str) -> str:
        return "'" + value if value and value.startswith(prefixes) else value

    for row in values.iterator(chunk_size=CHUNK):
        ip = row[15]
        yield [
            row[0],
            row[1],
            row[2],
            zone,
            inert(row[3]),
            row[4],
            row[5],
            row[6],
            inert(row[7]),
            inert(row[8]),
            inert(row[9]),
            inert(row[10]),
            inert(row[11]),
            inert(row[12]),
            row[13],
            inert(row[14]),
            ip.split("/")[0] if ip else "",
            inert(row[16]),
            row[17],
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(qs: QuerySet[AccessEvent], *, tz: zoneinfo.ZoneInfo, schema_name: str):
    """Yield the CSV in blocks of rows; runs in the agency's schema however it is consumed."""
    writer = csv.writer(_Echo())
    with schema_context(schema_name):
        yield writer.writerow(COLUMNS)
        block: list[str] = []
        for row in _rows(qs, tz):
            block.append(writer.writerow(row))
            if len(block) >= 1000:
                yield "".join(block)
                block = []
        if block:
            yield "".join(block)


def write_xlsx(qs: QuerySet[AccessEvent], *, tz: zoneinfo.ZoneInfo, out: IO[bytes]) -> int:
    """Write the workbook to ``out`` row by row (constant memory); returns rows written."""
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
    sheet = workbook.add_worksheet("Access log")
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, COLUMNS, bold)
    written = 0
    for written, row in enumerate(_rows(qs, tz), start=1):  # noqa: B007
        if written > XLSX_MAX_ROWS:
            written -= 1
            break
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(written, col, value)
            else:
                sheet.write_number(written, col, value)
    workbook.close()
    return written
