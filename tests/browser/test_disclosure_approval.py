"""A disclosure is prepared by one Administrator from her search and approved by another, in
a real browser; the preparer is never offered the approval. Then the evidence package is
built (by the build service, as the worker would), its progress shown by the page's polling,
downloaded and verified."""

from __future__ import annotations

import datetime
import re
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from captures.releases.models import Disclosure, EvidencePackage
from captures.releases.package import package_build, verify_package_file
from captures.releases.signing import public_key
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_camera, make_confirmed_capture, make_user, search_event

pytestmark = pytest.mark.browser


@pytest.mark.django_db
def test_the_test_database_is_in_use():
    """Makes pytest-django set up the test database when this module runs alone."""
    assert connection.settings_dict["NAME"].startswith("test")


def _logged_search(user, plate: str):
    """A search of ``user``'s own that found ``plate`` (as the search page logs it)."""
    return search_event(
        user,
        plate=plate,
        case_number="26-CR-0777",
        query={
            "plate": plate,
            "state": "",
            "from": None,
            "to": None,
            "cameras": [],
            "include_unconfirmed": False,
            "similar": False,
        },  # fmt: skip
        details={"result_count": 2, "as_of": timezone.now().isoformat()},
    )


def test_prepare_and_approve_by_two_administrators(
    committed, portal_server, browser, page, sign_in, settings, tmp_path
):
    assert connection.settings_dict["NAME"].startswith("test"), "not on the test database"
    settings.ALPR_STORAGE_DIR = tmp_path / "images"  # read only by this process's build
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:8].upper()
    preparer = make_user(agency, username=f"prep-{tag}", roles=[Role.ADMINISTRATOR])
    approver = make_user(agency, username=f"appr-{tag}", roles=[Role.ADMINISTRATOR])
    plate = f"7D{tag[:5]}"
    camera = make_camera(agency, name=f"Disclosure cam {tag}")
    now = timezone.now()
    captures = [
        make_confirmed_capture(
            agency, camera, plate=plate, captured_at=now - datetime.timedelta(hours=h)
        )
        for h in (2, 3)
    ]
    with schema_context(agency.schema_name):
        search = _logged_search(preparer, plate)

    base = sign_in(page, agency, preparer)
    page.goto(f"{base}/releases/new/?search={search.pk}")
    rows = page.locator("[data-testid=prepare-captures] tbody tr")
    assert rows.count() == 2
    assert plate in rows.first.inner_text()
    page.fill("#id_recipient_person", "Dana Prosecutor")
    page.fill("#id_recipient_organisation", "County District Attorney")
    page.fill("#id_recipient_jurisdiction", "CA")
    page.check("input[name=recipient_is_public_agency][value=yes]")
    page.select_option("#id_legal_basis", "court_order")
    page.fill("#id_requester", "Deputy DA Dana Prosecutor")
    assert page.input_value("#id_case_number") == "26-CR-0777"
    page.fill("#id_justification", "Court order 26-0777 for the suspect vehicle's reads.")
    page.click("button:has-text('Record the disclosure for approval')")
    page.wait_for_url(re.compile(r".*/releases/\d+/$"))
    disclosure_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    assert page.get_by_test_id("disclosure-status").inner_text() == "Waiting for approval"
    assert "You prepared this release" in page.get_by_test_id("waiting").inner_text()
    assert page.locator("[data-testid=approve]").count() == 0

    second = browser.new_context()
    try:
        other = second.new_page()
        other.set_default_timeout(15_000)
        sign_in(other, agency, approver)
        other.goto(f"{base}/releases/{disclosure_id}/")
        assert plate in other.get_by_test_id("disclosure-captures").inner_text()
        other.get_by_test_id("approve").click()
        other.wait_for_selector("text=approved.")
        assert other.get_by_test_id("disclosure-status").inner_text() == "Approved"
        assert approver.username in other.get_by_test_id("decided-by").inner_text()
        other.get_by_test_id("package-build").click()
        other.wait_for_selector("[data-testid=package-state]")

        with schema_context(agency.schema_name):
            package = EvidencePackage.objects.get(disclosure_id=disclosure_id)
            package_build(agency=agency, package_id=package.pk)  # what the worker runs
            package.refresh_from_db()
        assert package.status == EvidencePackage.Status.READY
        download_link = other.get_by_test_id("package-download")
        download_link.wait_for(state="visible")  # the page polled the status
        assert package.sha256 in other.get_by_test_id("package-sha").inner_text()
        with other.expect_download() as info:
            download_link.click()
        saved = Path(info.value.path())
        with schema_context(agency.schema_name):
            verdict = verify_package_file(saved, trusted_key=public_key())
        assert verdict.intact, verdict.problems
        assert verdict.files_checked >= 2 * 3 + 2  # images and reads, disclosure, log
    finally:
        second.close()

    with schema_context(agency.schema_name):
        disclosure = Disclosure.objects.get(pk=disclosure_id)
        assert disclosure.status == Disclosure.Status.APPROVED
        assert (disclosure.prepared_by_id, disclosure.decided_by_id) == (preparer.pk, approver.pk)
        assert set(disclosure.capture_ids) == {c.pk for c in captures}
        actions = set(
            AccessEvent.objects.filter(objects_touched__contains=[
                {"type": "disclosure", "id": str(disclosure_id)}
            ]).values_list("action", "actor_username")
        )  # fmt: skip
    assert (Action.DISCLOSURE_PREPARED, preparer.username) in actions
    assert (Action.DISCLOSURE_APPROVED, approver.username) in actions
    assert (Action.EXPORT, approver.username) in actions  # the download
    with schema_context(agency.schema_name):
        # Committed rows outlive the test; the register's other tests count on their own rows
        # only, but leave the register as it was (the access-log entries stay, as they must).
        EvidencePackage.objects.filter(disclosure=disclosure).delete()
        disclosure.delete()
    (settings.ALPR_PACKAGE_DIR / agency.schema_name / package.file_name).unlink(missing_ok=True)


def test_a_printout_leaving_the_agency_waits_for_approval(
    committed, portal_server, browser, page, sign_in
):
    agency = Agency.objects.get(slug="alpha")
    tag = uuid.uuid4().hex[:8].upper()
    officer = make_user(agency, username=f"print-off-{tag}", roles=[Role.OFFICER])
    admin = make_user(agency, username=f"print-adm-{tag}", roles=[Role.ADMINISTRATOR])
    capture = make_confirmed_capture(agency, plate=f"7P{tag[:5]}")

    base = sign_in(page, agency, officer)
    page.goto(f"{base}/captures/{capture.pk}/print/")
    page.fill("#id_case_number", "26-PR-1")
    page.check("input[name=destination][value=outside]")
    page.click("button:has-text('Prepare the printout')")
    page.wait_for_url(f"**/releases/new/?capture={capture.pk}&medium=print")
    assert page.is_checked(f"#cap-{capture.pk}")
    page.fill("#id_recipient_person", "Pat Clerk")
    page.fill("#id_recipient_organisation", "Superior Court")
    page.fill("#id_recipient_jurisdiction", "CA")
    page.check("input[name=recipient_is_public_agency][value=yes]")
    page.select_option("#id_legal_basis", "subpoena")
    page.fill("#id_requester", "Court clerk Pat")
    page.fill("#id_case_number", "26-PR-1")
    page.fill("#id_justification", "Subpoena duces tecum 26-PR-1.")
    page.click("button:has-text('Record the disclosure for approval')")
    page.wait_for_url(re.compile(r".*/releases/\d+/$"))
    detail_url = page.url
    assert page.locator("[data-testid=print-disclosed]").count() == 0  # not approved yet

    second = browser.new_context()
    try:
        other = second.new_page()
        other.set_default_timeout(15_000)
        sign_in(other, agency, admin)
        other.goto(detail_url)
        other.get_by_test_id("approve").click()
        other.wait_for_selector("text=approved.")
    finally:
        second.close()

    page.goto(detail_url)
    page.get_by_test_id("print-disclosed").click()
    page.wait_for_url(f"**/captures/{capture.pk}/print/?disclosure=*")
    assert "Superior Court" in page.get_by_test_id("print-recipient").inner_text()
    disclosure_id = int(detail_url.rstrip("/").rsplit("/", 1)[-1])
    with schema_context(agency.schema_name):
        printed = AccessEvent.objects.get(action=Action.EXPORT, actor_id=officer.pk)
        assert printed.details["disclosure_id"] == disclosure_id
        assert printed.details["leaves_agency"] is True
        Disclosure.objects.filter(pk=disclosure_id).delete()
