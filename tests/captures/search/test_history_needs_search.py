"""A read's review history (who read it as what, and when) is plate data about people's work:
the capture page shows it only under a search of the user's own, like the other reads."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action
from captures.review.services import review_correct
from tests.factories import make_capture, make_user, search_data

pytestmark = pytest.mark.django_db


def test_review_history_only_under_a_search(agency_a, officer_a, officer_client_a):
    capture = make_capture(agency_a, plate="3HIST33")
    reviewer = make_user(agency_a, username="hist-reviewer")
    with schema_context(agency_a.schema_name):
        review_correct(
            agency=agency_a,
            capture_id=capture.pk,
            user=reviewer,
            version=0,
            plate="3HIST38",
            state=None,
        )

    direct = officer_client_a.get(f"/captures/{capture.pk}/").content.decode()
    assert 'data-testid="history-needs-search"' in direct
    assert "<th>Re-review of</th>" not in direct  # no history table

    officer_client_a.post("/search/", search_data(agency_a, plate="3HIST38"), follow=True)
    with schema_context(agency_a.schema_name):
        search = AccessEvent.objects.filter(actor_id=officer_a.pk, action=Action.SEARCH).latest(
            "id"
        )
    under_search = officer_client_a.get(f"/captures/{capture.pk}/?search={search.pk}")
    page = under_search.content.decode()
    assert "<th>Re-review of</th>" in page
    assert "<td>hist-reviewer</td>" in page
    assert 'data-testid="history-needs-search"' not in page
