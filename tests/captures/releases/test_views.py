"""Pages of the disclosure register: preparing from one's own search, deciding as another
Administrator, who sees what (404 for others' and another agency's disclosures, 403 for
wrong roles), the register's filters and exports, and the print form's two ways."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action
from captures.releases.models import Disclosure
from captures.releases.selectors import disclosure_figures
from captures.releases.services import disclosure_decide, disclosure_prepare
from tenants.people.roles import Role
from tests.factories import (
    disclosure_data,
    disclosure_form,
    make_confirmed_capture,
    make_user,
    search_data,
)
from tests.support import events, verified_client


def _prepared(agency, user, as_user, **overrides):
    capture = make_confirmed_capture(agency)
    with schema_context(agency.schema_name):
        return disclosure_prepare(
            request=as_user(user),
            agency=agency,
            data=disclosure_data(**overrides),
            capture_ids=[capture.pk],
        ), capture


def test_an_officer_prepares_from_their_search(agency_a, officer_a, officer_client_a):
    capture = make_confirmed_capture(agency_a, plate="7REL001")
    officer_client_a.post("/search/", search_data(agency_a, plate="7REL001"))
    (search,) = events(agency_a, actor_id=officer_a.pk, action=Action.SEARCH)
    page = officer_client_a.get(f"/releases/new/?search={search.pk}")
    assert page.status_code == 200
    assert "7REL001" in page.content.decode()
    response = officer_client_a.post(
        "/releases/new/", {**disclosure_form([capture.pk]), "search": search.pk}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with schema_context(agency_a.schema_name):
        disclosure = Disclosure.objects.get(prepared_by_id=officer_a.pk)
    assert response["Location"] == f"/releases/{disclosure.pk}/"
    assert disclosure.capture_ids == [capture.pk]
    assert disclosure.source == f"search #{search.pk}"
    detail = officer_client_a.get(response["Location"]).content.decode()
    assert "a different Administrator must approve" in detail
    assert 'data-testid="approve"' not in detail


def test_someone_elses_search_is_not_found(agency_a, officer_client_a, as_user):
    other = make_user(agency_a)
    client = verified_client(agency_a, other)
    make_confirmed_capture(agency_a, plate="7REL002")
    client.post("/search/", search_data(agency_a, plate="7REL002"))
    (search,) = events(agency_a, actor_id=other.pk, action=Action.SEARCH)
    assert officer_client_a.get(f"/releases/new/?search={search.pk}").status_code == 404


def test_a_capture_not_offered_is_a_form_error(agency_a, officer_a, officer_client_a):
    capture = make_confirmed_capture(agency_a)
    response = officer_client_a.post("/releases/new/", disclosure_form([capture.pk]))
    assert response.status_code == 400
    assert "Captures to release" in response.content.decode()
    with schema_context(agency_a.schema_name):
        assert not Disclosure.objects.filter(prepared_by_id=officer_a.pk).exists()


def test_a_nul_in_a_field_is_a_form_error(agency_a, officer_client_a):
    capture = make_confirmed_capture(agency_a)
    response = officer_client_a.post(
        f"/releases/new/?capture={capture.pk}",
        {**disclosure_form([capture.pk]), "capture": capture.pk, "requester": "a\x00b"},
    )
    assert response.status_code == 400
    assert "Null characters are not allowed" in response.content.decode()


def test_another_administrator_approves_on_the_page(
    agency_a, officer_a, admin_a, as_user, client_of
):
    disclosure, _ = _prepared(agency_a, officer_a, as_user)
    admin = client_of(admin_a)
    page = admin.get(f"/releases/{disclosure.pk}/").content.decode()
    assert 'data-testid="approve"' in page
    response = admin.post(f"/releases/{disclosure.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.APPROVED
    assert disclosure.decided_by_username == admin_a.username


def test_a_preparing_administrator_cannot_approve_on_the_page(
    agency_a, admin_a, as_user, client_of
):
    disclosure, _ = _prepared(agency_a, admin_a, as_user)
    admin = client_of(admin_a)
    page = admin.get(f"/releases/{disclosure.pk}/").content.decode()
    assert 'data-testid="approve"' not in page
    response = admin.post(
        f"/releases/{disclosure.pk}/decide/", {"decision": "approve"}, follow=True
    )
    assert "different Administrator" in response.content.decode()
    with schema_context(agency_a.schema_name):
        disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PREPARED


def test_refusing_without_a_reason_is_a_message_not_a_change(
    agency_a, officer_a, admin_a, as_user, client_of
):
    disclosure, _ = _prepared(agency_a, officer_a, as_user)
    response = client_of(admin_a).post(
        f"/releases/{disclosure.pk}/decide/", {"decision": "refuse", "reason": ""}, follow=True
    )
    assert "Say why the release is refused" in response.content.decode()
    with schema_context(agency_a.schema_name):
        disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PREPARED


@pytest.mark.parametrize("role", [Role.OFFICER, Role.AUDITOR])
def test_only_administrators_decide(agency_a, officer_a, as_user, role):
    disclosure, _ = _prepared(agency_a, officer_a, as_user)
    client = verified_client(agency_a, make_user(agency_a, roles=[role]))
    response = client.post(f"/releases/{disclosure.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 403


def test_an_officer_sees_only_their_own_disclosures(agency_a, officer_a, as_user):
    disclosure, _ = _prepared(agency_a, officer_a, as_user)
    other = verified_client(agency_a, make_user(agency_a))
    assert other.get(f"/releases/{disclosure.pk}/").status_code == 404
    assert f"disclosure-{disclosure.pk}" not in other.get("/releases/").content.decode()


def test_another_agencys_disclosure_is_not_found(agency_a, agency_b, officer_a, as_user):
    disclosure, _ = _prepared(agency_a, officer_a, as_user)
    admin_b = verified_client(agency_b, make_user(agency_b, roles=[Role.ADMINISTRATOR]))
    auditor_b = verified_client(agency_b, make_user(agency_b, roles=[Role.AUDITOR]))
    assert admin_b.get(f"/releases/{disclosure.pk}/").status_code == 404
    assert auditor_b.get(f"/releases/{disclosure.pk}/").status_code == 404
    response = admin_b.post(f"/releases/{disclosure.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 404
    assert admin_b.get(f"/releases/{disclosure.pk}/package/1/status.json").status_code == 404


def test_the_auditor_sees_no_plates_and_trained_officers_are_logged(
    agency_a, officer_a, auditor_a, as_user, client_of
):
    disclosure, capture = _prepared(agency_a, officer_a, as_user)
    auditor_page = client_of(auditor_a).get(f"/releases/{disclosure.pk}/").content.decode()
    assert capture.plate not in auditor_page
    assert str(capture.pk) in auditor_page
    assert events(agency_a, actor_id=auditor_a.pk, action=Action.DISCLOSURE_VIEWED) == []
    officer_page = client_of(officer_a).get(f"/releases/{disclosure.pk}/").content.decode()
    assert capture.plate in officer_page
    (viewed,) = events(agency_a, actor_id=officer_a.pk, action=Action.DISCLOSURE_VIEWED)
    assert viewed.case_number == disclosure.case_number
    assert {"type": "capture", "id": str(capture.pk)} in viewed.objects_touched


def test_the_register_filters_and_exports(
    agency_a, officer_a, admin_a, auditor_a, as_user, client_of
):
    court, _ = _prepared(agency_a, officer_a, as_user)
    records, _ = _prepared(
        agency_a,
        officer_a,
        as_user,
        legal_basis="public_records",
        recipient_is_public_agency=False,
        recipient_organisation="=HYPERLINK(evil)",
        case_number="PRA-7",
    )
    with schema_context(agency_a.schema_name):
        disclosure_decide(
            request=as_user(admin_a), agency=agency_a, disclosure_id=court.pk, approve=True
        )
    auditor = client_of(auditor_a)
    page = auditor.get("/releases/?legal_basis=public_records").content.decode()
    assert f"disclosure-{records.pk}" in page
    assert f"disclosure-{court.pk}" not in page
    assert f"disclosure-{court.pk}" in auditor.get("/releases/?status=approved").content.decode()

    response = auditor.get("/releases/export.csv?recipient_type=other")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["id"] for r in rows] == [str(records.pk)]
    assert rows[0]["recipient_organisation"] == "'=HYPERLINK(evil)"
    assert rows[0]["legal_basis"] == "public_records"
    (export,) = events(agency_a, actor_id=auditor_a.pk, action=Action.EXPORT)
    assert export.details["what"] == "disclosure_register"
    assert export.query == {"recipient_type": "other"}

    xlsx = auditor.get("/releases/export.xlsx")
    with zipfile.ZipFile(io.BytesIO(b"".join(xlsx.streaming_content))) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula cell at all
    assert "&apos;=HYPERLINK(evil)" in sheet or "'=HYPERLINK(evil)" in sheet
    assert f"<v>{court.pk}</v>" in sheet
    assert f"<v>{records.pk}</v>" in sheet


def test_bad_filters_are_a_400_with_a_sentence(agency_a, auditor_a, client_of):
    response = client_of(auditor_a).get("/releases/export.csv?start=yesterday")
    assert response.status_code == 400
    assert b"Fix the filters" in response.content


def test_officers_cannot_export_the_register(agency_a, officer_client_a):
    assert officer_client_a.get("/releases/export.csv").status_code == 403


def test_a_print_leaving_the_agency_becomes_a_disclosure(
    agency_a, officer_a, admin_a, officer_client_a, as_user, client_of
):
    capture = make_confirmed_capture(agency_a, plate="7PRN001")
    response = officer_client_a.post(
        f"/captures/{capture.pk}/print/", {"case_number": "26-9", "destination": "outside"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/releases/new/?capture={capture.pk}&medium=print"
    assert events(agency_a, actor_id=officer_a.pk, action=Action.EXPORT) == []

    form = disclosure_form([capture.pk], medium="print", capture=capture.pk)
    prepared = officer_client_a.post(response["Location"], form)
    assert prepared.status_code == 302, prepared.content.decode()[:2000]
    with schema_context(agency_a.schema_name):
        disclosure = Disclosure.objects.get(prepared_by_id=officer_a.pk)
    assert disclosure.medium == Disclosure.Medium.PRINT
    url = f"/captures/{capture.pk}/print/?disclosure={disclosure.pk}"
    assert officer_client_a.get(url).status_code == 404  # not approved yet

    client_of(admin_a).post(f"/releases/{disclosure.pk}/decide/", {"decision": "approve"})
    printed = officer_client_a.get(url)
    assert printed.status_code == 200
    assert "County District Attorney" in printed.content.decode()
    (export,) = events(agency_a, actor_id=officer_a.pk, action=Action.EXPORT)
    assert export.details["disclosure_id"] == disclosure.pk
    assert export.details["leaves_agency"] is True
    assert export.case_number == disclosure.case_number


def test_a_print_inside_the_agency_is_logged_as_staying(agency_a, officer_a, officer_client_a):
    capture = make_confirmed_capture(agency_a)
    printed = officer_client_a.post(
        f"/captures/{capture.pk}/print/", {"case_number": "26-9", "destination": "agency"}
    )
    assert printed.status_code == 200
    (export,) = events(agency_a, actor_id=officer_a.pk, action=Action.EXPORT)
    assert export.details["leaves_agency"] is False


def test_the_transparency_page_counts_disclosures(agency_a, officer_a, admin_a, as_user, client_a):
    """Counted from the data: the rows of this test on top of what other tests committed."""
    with schema_context(agency_a.schema_name):
        before = disclosure_figures(since=timezone.now() - datetime.timedelta(days=365))
    for basis in ("court_order", "court_order", "emergency"):
        disclosure, _ = _prepared(agency_a, officer_a, as_user, legal_basis=basis)
        with schema_context(agency_a.schema_name):
            disclosure_decide(
                request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
            )
    refused, _ = _prepared(agency_a, officer_a, as_user, recipient_is_public_agency=False)
    with schema_context(agency_a.schema_name):
        disclosure_decide(
            request=as_user(admin_a),
            agency=agency_a,
            disclosure_id=refused.pk,
            approve=False,
            reason="No legal basis shown.",
        )
    counts = {row.label: row.count for row in before.by_legal_basis}
    types = {row.label: row.count for row in before.by_recipient_type}
    page = client_a.get("/transparency/").content.decode()
    assert (
        f"<strong>{before.approved + 3}</strong> releases approved, "
        f"<strong>{before.refused + 1}</strong> refused"
    ) in page
    assert f"<td>Court order</td><td>{counts.get('Court order', 0) + 2}</td>" in page
    emergency = counts.get("Emergency involving danger to life", 0) + 1
    assert f"<td>Emergency involving danger to life</td><td>{emergency}</td>" in page
    assert f"<td>Public agencies</td><td>{types.get('Public agencies', 0) + 3}</td>" in page


@pytest.mark.parametrize(
    "overrides",
    [
        {"legal_basis": "curiosity"},
        {"recipient_jurisdiction": "C"},
        {"recipient_is_public_agency": "maybe"},
        {"fields_released": ["everything"]},
        {"captures": ["not-a-uuid"]},
        {"medium": "fax"},
        {"justification": "x" * 3000},
    ],
    ids=lambda o: next(iter(o)),
)
def test_bad_form_input_is_a_form_error_and_nothing_stored(
    agency_a, officer_a, officer_client_a, overrides
):
    capture = make_confirmed_capture(agency_a)
    data = {**disclosure_form([capture.pk], capture=capture.pk), **overrides}
    response = officer_client_a.post(f"/releases/new/?capture={capture.pk}", data)
    assert response.status_code == 400
    assert 'data-testid="prepare-errors"' in response.content.decode()
    with schema_context(agency_a.schema_name):
        assert not Disclosure.objects.filter(prepared_by_id=officer_a.pk).exists()


def test_a_bad_decision_value_changes_nothing(agency_a, officer_a, admin_a, as_user, client_of):
    disclosure, _ = _prepared(agency_a, officer_a, as_user)
    response = client_of(admin_a).post(
        f"/releases/{disclosure.pk}/decide/", {"decision": "maybe"}, follow=True
    )
    assert response.status_code == 200
    with schema_context(agency_a.schema_name):
        disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PREPARED


def test_unknown_ids_in_the_prepare_links_are_not_found(agency_a, officer_client_a):
    assert officer_client_a.get("/releases/new/?search=abc").status_code == 404
    assert officer_client_a.get("/releases/new/?capture=abc").status_code == 404
    assert officer_client_a.get("/releases/new/?case=NONE-1").status_code == 200


def test_preparing_from_a_case_number_offers_the_reads_of_your_searches_for_it(
    agency_a, officer_a, officer_client_a
):
    first = make_confirmed_capture(agency_a, plate="7CASE01")
    second = make_confirmed_capture(agency_a, plate="7CASE02")
    elsewhere = make_confirmed_capture(agency_a, plate="7CASE03")
    for plate, case in (("7CASE01", "26-77"), ("7CASE02", "26-77"), ("7CASE03", "26-78")):
        officer_client_a.post("/search/", search_data(agency_a, plate=plate, case_number=case))
    someone = verified_client(agency_a, make_user(agency_a))
    someone.post("/search/", search_data(agency_a, plate="7CASE03", case_number="26-77"))
    page = officer_client_a.get("/releases/new/?case=26-77").content.decode()
    assert str(first.pk) in page
    assert str(second.pk) in page
    assert str(elsewhere.pk) not in page  # another case, and someone else's search
    assert 'value="26-77"' in page
