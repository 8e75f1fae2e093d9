"""Exports: streamed CSV and XLSX of the filtered events, formula injection neutralized, logged."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.http import StreamingHttpResponse

from audit.exports import neutralize
from audit.models import AccessEvent, Action
from tenants.people.roles import Role
from tests.factories import make_user, search_event
from tests.support import verified_client

NASTY = ['=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "\tleading tab", "\rcarriage"]


@pytest.mark.parametrize("value", NASTY)
def test_neutralize_makes_formula_cells_inert(value):
    assert neutralize(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "A=1", "", "1+1", 42, None])
def test_neutralize_leaves_other_cells_alone(value):
    assert neutralize(value) == value


@pytest.fixture
def auditor(agency_a):
    return make_user(agency_a, roles=[Role.AUDITOR])


@pytest.fixture
def nasty_events(agency_a, in_agency):
    officer = make_user(agency_a, username="export-officer")
    with in_agency(agency_a):
        return [
            search_event(officer, plate="EXP1", purpose_text=NASTY[0], case_number=NASTY[1]),
            search_event(officer, plate="EXP2", purpose_text=NASTY[2], case_number=NASTY[3]),
            search_event(officer, plate="EXP3", purpose_text=NASTY[4], purpose_category="\rcat"),
        ]


def test_csv_export_is_streamed_filtered_neutralized_and_logged(
    agency_a, in_agency, auditor, nasty_events
):
    client = verified_client(agency_a, auditor)
    with in_agency(agency_a):
        exports_before = AccessEvent.objects.filter(action=Action.EXPORT).count()
    response = client.get("/audit/export.csv?user=export-officer&action=search")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [e.id for e in reversed(nasty_events)]
    cells = [value for row in rows for value in row.values()]
    for value in NASTY[:5]:
        assert value not in cells, value
        assert "'" + value in cells, value
    assert "'\rcat" in cells
    first = rows[-1]
    assert first["username"] == "export-officer"
    assert first["occurred_at_utc"].endswith("Z")
    assert len(first["occurred_at_utc"]) == 27
    assert '"plate": "EXP1"' in first["query"]
    assert first["entry_hash"] == nasty_events[0].entry_hash
    with in_agency(agency_a):
        exports = AccessEvent.objects.filter(action=Action.EXPORT).order_by("-id")
        assert exports.count() == exports_before + 1
        logged = exports.first()
        assert logged.actor_id == auditor.id
        assert logged.details["format"] == "csv"
        assert logged.query == {"user": "export-officer", "action": "search"}


def test_xlsx_export_neutralizes_and_is_logged(agency_a, in_agency, auditor, nasty_events):
    client = verified_client(agency_a, auditor)
    response = client.get("/audit/export.xlsx?user=export-officer")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = (
            book.read("xl/sharedStrings.xml").decode()
            if "xl/sharedStrings.xml" in book.namelist()
            else ""
        )
    xml = sheet + strings
    assert "<f>" not in xml  # no formula cell at all
    assert "&apos;=HYPERLINK" in xml or "'=HYPERLINK" in xml
    assert "'@SUM(A1)" in xml
    assert "'+1" in xml
    assert "'-1" in xml
    assert "EXP2" in xml
    with in_agency(agency_a):
        logged = AccessEvent.objects.filter(action=Action.EXPORT).order_by("-id").first()
        assert logged.details["format"] == "xlsx"


def _workbook(client, url):
    import openpyxl

    response = client.get(url)
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_xlsx_export_has_a_frozen_header_filters_and_sized_columns(
    agency_a, in_agency, auditor, nasty_events
):
    from openpyxl.utils import get_column_letter

    from audit.exports import COLUMNS

    book = _workbook(verified_client(agency_a, auditor), "/audit/export.xlsx?user=export-officer")
    sheet = book["Access log"]
    assert [cell.value for cell in sheet[1]] == COLUMNS
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"  # the header row stays in view
    last = get_column_letter(len(COLUMNS))
    assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}"  # every row, every column
    assert sheet.max_row == len(nasty_events) + 1
    widths = {name: sheet.column_dimensions[get_column_letter(i + 1)].width
              for i, name in enumerate(COLUMNS)}  # fmt: skip
    assert widths["id"] < widths["username"] < widths["purpose_text"]
    assert widths["occurred_at_utc"] >= len("2026-12-01T09:30:00.000000Z")
    assert all(8 <= width <= 50 for width in widths.values())
    # The cells read back as written: usernames, neutralized formulas.
    usernames = {row[COLUMNS.index("username")] for row in sheet.iter_rows(2, values_only=True)}
    assert usernames == {"export-officer"}


def test_an_empty_xlsx_export_still_has_its_header_and_filter(agency_a, auditor):
    book = _workbook(verified_client(agency_a, auditor), "/audit/export.xlsx?user=nobody-at-all")
    sheet = book["Access log"]
    assert sheet.max_row == 1
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:")
