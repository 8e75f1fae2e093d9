"""Incident fixtures: an Administrator, and the access log of a suspected account."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.test import RequestFactory
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from audit.services import record_backdated_event, record_event
from tenants.people.roles import Role
from tests.factories import make_user, search_event


@pytest.fixture
def admin_a(agency_a):
    return make_user(agency_a, roles=[Role.ADMINISTRATOR])


@pytest.fixture
def admin_request(admin_a):
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.9")
    request.user = admin_a
    return request


@pytest.fixture
def suspect_log(agency_a):
    """What the suspected account ``mallory`` and the address 203.0.113.7 did, and others.

    Returns the capture ids seen and the window that holds them.
    """
    mallory = make_user(agency_a, username="mallory")
    bystander = make_user(agency_a)
    seen, image_only, by_address = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = timezone.now()
    with schema_context(agency_a.schema_name):
        record_backdated_event(  # before the window: not part of it
            occurred_at=now - datetime.timedelta(days=3),
            action=Action.CAPTURE_VIEWED,
            actor=mallory,
            objects=[("capture", uuid.uuid4())],
            details={"plate": "OLD0001"},
        )
        search_event(mallory, plate="7SUS123")
        search_event(mallory, plate="REFUSED", outcome=Outcome.REFUSED, reason="no purpose")
        record_event(
            action=Action.CAPTURE_VIEWED,
            actor=mallory,
            objects=[("capture", seen)],
            details={"plate": "7SUS123", "state": "CA", "source": "search"},
        )
        record_event(
            action=Action.IMAGE_VIEWED,
            actor=mallory,
            objects=[("capture", image_only)],
            details={"image": "plate", "source": "direct"},
        )
        record_event(
            action=Action.EXPORT,
            actor=mallory,
            case_number="X",
            objects=[("capture", seen)],
            details={"format": "print", "plate": "7SUS123", "state": "CA"},
        )
        request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
        request.user = bystander
        record_event(
            action=Action.CAPTURE_VIEWED,
            request=request,
            objects=[("capture", by_address)],
            details={"plate": "ADDR777"},
        )
        search_event(bystander, plate="INNOCENT")  # neither account nor address suspected
        record_event(action=Action.LOGIN, actor=mallory)  # sees no plate data
    window = (now - datetime.timedelta(hours=1), timezone.now() + datetime.timedelta(hours=1))
    return {"seen": seen, "image_only": image_only, "by_address": by_address, "window": window}
