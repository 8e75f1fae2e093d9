"""Home pages say what is waiting for each role; refused and missing pages say what to do."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import Flag
from captures.models import Capture
from tenants.people.roles import Role
from tests.factories import make_camera, make_capture, make_user, search_event
from tests.support import verified_client

pytestmark = pytest.mark.django_db


def _task(page: str, key: str) -> str:
    start = page.index(f'data-testid="task-{key}"')
    return page[start : page.index("</li>", start)]


def test_an_officer_sees_the_reads_waiting_for_review(agency_a, in_agency):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    page = client.get("/").content.decode()
    before = int(_task(page, "review").split('todo-count">')[1].split("<")[0])
    with in_agency(agency_a):
        camera = make_camera(agency_a)
        for _ in range(2):
            make_capture(agency_a, camera=camera, review_status=Capture.Review.UNCONFIRMED)
    page = client.get("/").content.decode()
    task = _task(page, "review")
    assert f'todo-count">{before + 2}<' in task
    assert "reads waiting for review" in task
    assert 'href="/review/"' in task
    assert 'data-testid="task-flags"' not in page  # not an auditor's work
    assert 'data-testid="task-training"' not in page


def test_an_untrained_officer_is_not_sent_to_the_queue(agency_a):
    officer = make_user(agency_a, roles=[Role.OFFICER], trained=False)
    page = verified_client(agency_a, officer).get("/").content.decode()
    assert 'data-testid="task-review"' not in page


def test_auditors_see_open_flags_and_administrators_also_training_due(agency_a, in_agency):
    auditor = make_user(agency_a, roles=[Role.AUDITOR])
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    make_user(agency_a, roles=[Role.OFFICER], trained=False)  # due for training
    with in_agency(agency_a):
        event = search_event(auditor)
        open_before = Flag.objects.filter(reviewed_at__isnull=True).count()
        Flag.objects.create(
            event=event, kind="vague_purpose", reason="test", event_at=event.occurred_at
        )
        Flag.objects.create(
            event=event, kind="odd_hours", reason="test", event_at=event.occurred_at,
            reviewed_at=timezone.now() - datetime.timedelta(hours=1),
        )  # fmt: skip
    page = verified_client(agency_a, auditor).get("/").content.decode()
    flags = _task(page, "flags")
    assert f'todo-count">{open_before + 1}<' in flags
    assert 'href="/audit/flags/"' in flags
    assert 'data-testid="task-training"' not in page
    page = verified_client(agency_a, administrator).get("/").content.decode()
    assert 'data-testid="task-flags"' in page
    training = _task(page, "training")
    assert 'href="/accounts/training-due/"' in training
    assert 'todo-count">0<' not in training


def test_a_refused_page_is_styled_and_says_what_to_do(agency_a):
    auditor = make_user(agency_a, roles=[Role.AUDITOR])
    response = verified_client(agency_a, auditor).get("/search/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'data-testid="error-403"' in page
    assert "Your role does not allow this page." in page
    assert 'href="/audit/"' in page  # the pages the auditor can use
    assert "ask your agency's administrator" in page
    assert 'class="topbar"' in page  # the portal's layout, not a bare "403 Forbidden"


def test_a_missing_page_is_styled_and_links_onward(agency_a):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    response = verified_client(agency_a, officer).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'data-testid="error-404"' in page
    assert "/no-such-page/" in page
    assert 'href="/search/"' in page
    anonymous = Client(HTTP_HOST="alpha.localhost")
    page = anonymous.get("/no-such-page/").content.decode()
    assert "Sign in" in page
