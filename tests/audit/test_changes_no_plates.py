"""The auditors' change list leaves out captures and reviews: their history holds plates."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from audit.selectors import configuration_changes, object_change_history
from captures.models import Capture, Review
from tenants.people.roles import Role
from tests.factories import make_capture, make_user
from tests.support import verified_client

pytestmark = pytest.mark.django_db

PLATE, MISREAD = "QWV6153", "QWV6I53"


@pytest.fixture
def corrected(agency_a):
    """A capture whose plate was corrected, with its review: both in django-auditlog's history."""
    capture = make_capture(agency_a, plate=MISREAD, state="NV")
    officer = make_user(agency_a, roles=[Role.OFFICER], username="history-officer")
    with schema_context(agency_a.schema_name):
        capture.plate, capture.review_status = PLATE, Capture.Review.CORRECTED
        capture.save()
        review = Review.objects.create(
            capture=capture, action=Review.Action.CORRECT, reviewer_id=officer.pk,
            reviewer_username=officer.username, plate_before=MISREAD, plate_after=PLATE,
        )  # fmt: skip
    return capture, review


def test_changes_page_lists_configuration_but_no_capture_or_review(agency_a, corrected):
    auditor = make_user(agency_a, roles=[Role.AUDITOR])
    body = verified_client(agency_a, auditor).get("/audit/changes/").content.decode()
    assert "history-officer" in body  # the user created above: configuration is listed
    assert PLATE not in body
    assert MISREAD not in body
    with schema_context(agency_a.schema_name):
        kinds = {entry.content_type.model for entry in configuration_changes()}
    assert "user" in kinds
    assert not kinds & {"capture", "review"}


def test_the_capture_page_can_still_read_its_own_history(agency_a, corrected):
    capture, review = corrected
    with schema_context(agency_a.schema_name):
        history = object_change_history(instances=[capture, review])
        other = make_capture(agency_a, plate="OTH1111")
        assert object_change_history(instances=[]) == []
        assert all(e.object_pk != str(other.pk) for e in object_change_history(instances=[capture]))
    (update,) = [e for e in history if e.content_type.model == "capture" and e.action == 1]
    assert update.changes_dict["plate"] == [MISREAD, PLATE]  # 1: LogEntry.Action.UPDATE
    assert {entry.content_type.model for entry in history} == {"capture", "review"}
