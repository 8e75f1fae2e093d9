"""Importing an extract: CSV and fixed width, one-transaction replacement, line-numbered
refusals, a file with too many bad lines refused whole, logged; the command and the admin page."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from captures.hotlists.imports import ImportRefused, hotlist_import
from captures.hotlists.matching import entries_matching
from captures.hotlists.models import Hotlist, HotlistEntry
from tenants.people.roles import Role
from tests.factories import make_user, unique
from tests.support import events, verified_client

HEADER = "plate,state,reason,reference,expires,notes\n"
FUTURE = (datetime.date.today() + datetime.timedelta(days=60)).isoformat()


@pytest.fixture
def extract(agency_a):
    with schema_context(agency_a.schema_name):
        return Hotlist.objects.create(name=unique("NCIC "), kind=Hotlist.Kind.EXTRACT, owner="DOJ")


def run(agency, hotlist, text: str, name="extract.csv"):
    with schema_context(agency.schema_name):
        return hotlist_import(
            agency=agency, hotlist=hotlist, data=text.encode(), file_name=name, username="tester"
        )


def plates(agency, hotlist):
    with schema_context(agency.schema_name):
        return sorted(HotlistEntry.objects.filter(hotlist=hotlist).values_list("plate", flat=True))


def test_csv_import_adds_entries_that_then_match(agency_a, extract):
    report = run(
        agency_a,
        extract,
        HEADER + f"7abc-123,CA,stolen_vehicle,V1,{FUTURE},grey civic\nXYZ9,,Stolen plate,,,\n",
    )
    assert (report.added, report.removed, report.unchanged, report.refused_count) == (2, 0, 0, 0)
    assert plates(agency_a, extract) == ["7ABC123", "XYZ9"]
    with schema_context(agency_a.schema_name):
        match = entries_matching(plate="7ABC123", state="CA")[0]
    assert (match.reason, match.reference, match.notes) == ("stolen_vehicle", "V1", "grey civic")


def test_a_second_import_replaces_and_reports_added_removed_unchanged(agency_a, extract):
    run(agency_a, extract, HEADER + "AAA111,CA,SV,R1,,\nBBB222,CA,SV,R2,,\n")
    report = run(agency_a, extract, HEADER + "BBB222,CA,SV,R2,,\nCCC333,NV,wanted_person,R3,,\n")
    assert (report.added, report.removed, report.unchanged) == (1, 1, 1)
    assert plates(agency_a, extract) == ["BBB222", "CCC333"]


def test_fixed_width_ncic_layout(agency_a, extract):
    exp = FUTURE.replace("-", "")
    lines = [
        "# state extract 2026-12-01",
        f"{'7ABC123':<10}CASVV123456789{exp}grey Civic",
        f"{'XYZ9':<10}  AAA000000001{'':8}",
    ]
    report = run(agency_a, extract, "\n".join(lines) + "\n", name="ncic.txt")
    assert report.file_format == "fixed-width"
    assert (report.added, report.refused) == (2, [])
    with schema_context(agency_a.schema_name):
        entry = HotlistEntry.objects.get(hotlist=extract, plate="7ABC123")
        amber = HotlistEntry.objects.get(hotlist=extract, plate="XYZ9")
    assert (entry.state, entry.reason, entry.reference, entry.notes) == (
        "CA",
        "stolen_vehicle",
        "V123456789",
        "grey Civic",
    )
    assert (amber.state, amber.reason, amber.expires_at) == ("", "amber_alert", None)


def test_a_short_fixed_width_line_is_refused_with_its_number(agency_a, extract):
    good = "".join(f"{'F' + str(i):<10}CASV\n" for i in range(60))
    report = run(agency_a, extract, good + f"{'BAD1':<10}CAZZ\nX\n", name="ncic.txt")
    assert report.added == 60
    assert report.refused == [
        (61, "unknown reason “ZZ”"),
        (62, "shorter than the layout (plate, state, reason code)"),
    ]


def test_bad_lines_are_refused_with_their_numbers(agency_a, extract):
    good = "".join(f"G{i:05d},CA,SV,,,\n" for i in range(80))
    report = run(agency_a, extract, HEADER + good + "!!!,CA,SV,,,\nH1,QQ,SV,,,\nH2,CA,nope,,,\n")
    assert report.added == 80
    assert [line for line, _ in report.refused] == [82, 83, 84]
    assert "not a state code" in report.refused[1][1]


def test_too_many_bad_lines_refuse_the_file_and_keep_the_list(agency_a, extract):
    run(agency_a, extract, HEADER + "KEEP1,CA,SV,,,\n")
    with pytest.raises(ImportRefused) as refused:
        run(agency_a, extract, HEADER + "NEW1,CA,SV,,,\n!!,CA,SV,,,\n")
    assert "more than the 5%" in str(refused.value)
    assert plates(agency_a, extract) == ["KEEP1"]
    logged = events(agency_a, action=Action.HOTLIST_IMPORTED)
    assert [e.outcome for e in logged] == [Outcome.ALLOWED, Outcome.REFUSED]


def test_a_wrong_header_is_refused_with_a_clear_message(agency_a, extract):
    with pytest.raises(ImportRefused, match="header must name"):
        run(agency_a, extract, "plate,colour\nAAA,red\n")


def test_binary_and_nul_lines_are_refused_not_crashing(agency_a, extract):
    data = (HEADER + "".join(f"G{i:04d},CA,SV,,,\n" for i in range(50))).encode()
    data += b"\xff\xfe,CA,SV,,,\nAB\x00C,CA,SV,,,\n"
    with schema_context(agency_a.schema_name):
        report = hotlist_import(agency=agency_a, hotlist=extract, data=data, file_name="x.csv")
    assert [msg for _, msg in report.refused] == ["not UTF-8 text", "not UTF-8 text"]


def test_an_import_is_logged_with_counts_and_no_plates(agency_a, extract):
    run(agency_a, extract, HEADER + "SECRET1,CA,SV,,,\n")
    event = events(agency_a, action=Action.HOTLIST_IMPORTED)[0]
    assert (event.details["added"], event.details["hotlist"]) == (1, extract.name)
    assert "SECRET1" not in str(event.details)


def test_an_agency_list_is_not_replaced_by_a_file(agency_a):
    with schema_context(agency_a.schema_name):
        typed = Hotlist.objects.create(name=unique("Own "), kind=Hotlist.Kind.AGENCY, owner="x")
    with pytest.raises(ImportRefused, match="typed in"):
        run(agency_a, typed, HEADER + "AAA1,CA,SV,,,\n")


def test_the_command_imports_and_reports(agency_a, tmp_path, capsys):
    path = tmp_path / "list.csv"
    path.write_text(HEADER + "CMD1,CA,SV,,,\nCMD2,,BOLO,,,\n")
    name = unique("Cmd ")
    call_command("import_hotlist", "--agency", "alpha", "--list", name, "--create", str(path))
    assert "added=2 removed=0 unchanged=0 refused=0" in capsys.readouterr().out
    with schema_context(agency_a.schema_name):
        assert Hotlist.objects.get(name=name).entries.count() == 2


def test_the_command_refuses_with_line_numbers(agency_a, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "!!,CA,SV,,,\n")
    with pytest.raises(CommandError, match="nothing changed"):
        call_command(
            "import_hotlist", "--agency", "alpha", "--list", unique("C "), "--create", str(path)
        )
    assert "line 2: no plate" in capsys.readouterr().err


def test_the_admin_upload_page_imports_and_shows_the_report(agency_a, extract):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, admin)
    url = reverse("admin:hotlists_hotlist_import", args=[extract.pk])
    upload = SimpleUploadedFile("x.csv", (HEADER + "UP1,CA,SV,,,\nUP2,CA,??,,,\n").encode())
    response = client.post(url, {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "line 3: unknown reason" in page
    assert "File refused" in page  # 1 bad line of 2: over the 5% share
    good = SimpleUploadedFile("y.csv", (HEADER + "UP1,CA,SV,,,\n").encode())
    done = client.post(url, {"file": good}, follow=True).content.decode()
    assert "1 added, 0 removed, 0 unchanged, 0 lines refused" in done
    empty = client.post(url, {})
    assert empty.status_code == 200
    officer = verified_client(agency_a, make_user(agency_a, roles=[Role.OFFICER]))
    assert officer.get(url).status_code in (302, 403)


def test_the_policy_admin_refuses_a_default_over_the_limit(agency_a):
    admin = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    client = verified_client(agency_a, admin)
    response = client.post(
        reverse("admin:hotlists_hotlistpolicy_add"),
        {
            "entry_days": "60",
            "max_entry_days": "30",
            "max_bad_line_percent": "5",
            "flag_search_count": "5",
        },
    )
    assert response.status_code == 200
    assert "cannot be longer than the policy" in response.content.decode()
    ok = client.post(
        reverse("admin:hotlists_hotlistpolicy_add"),
        {
            "entry_days": "20",
            "max_entry_days": "30",
            "max_bad_line_percent": "5",
            "flag_search_count": "5",
        },
    )
    assert ok.status_code == 302
    assert events(agency_a, action=Action.HOTLIST_CHANGED)[-1].details["entry_days"] == 20
