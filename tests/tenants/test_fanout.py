"""The one fan-out: a message per agency, sent in the agency's schema, after the commit.

The messages are read back from the real Redis broker (a queue of the test's own), so what is
checked is what a worker would receive: the schema header tenant-schemas-celery switches to,
and the arguments.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import redis
from django.conf import settings
from django_tenants.utils import schema_context

from audit.tasks import build_report, verify_log
from tenants.fanout import fan_out, task_agency
from tenants.models import Agency

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker():
    """A queue of this test's own on the real broker, and a way to read what was sent to it."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    queue = f"alpr-test-fanout-{uuid.uuid4().hex[:8]}"

    def sent() -> list[tuple[str, str, list, dict]]:
        found = []
        for raw in client.lrange(queue, 0, -1):
            message = json.loads(raw)
            args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            headers = message["headers"]
            found.append((headers["task"], headers["_schema_name"], args, kwargs))
        return found

    yield queue, sent
    client.delete(queue)


def test_one_message_per_agency_in_its_own_schema(broker, django_capture_on_commit_callbacks):
    queue, sent = broker
    with django_capture_on_commit_callbacks(execute=True):
        chosen = fan_out(verify_log, include_platform=True, queue=queue)
    expected = {(a.schema_name, a.id) for a in Agency.objects.all()}
    assert {(a.schema_name, a.id) for a in chosen} == expected
    assert "public" in {schema for schema, _ in expected}  # the platform's own log too
    messages = sent()
    assert len(messages) == len(expected)
    assert {(schema, args[0]) for _task, schema, args, _kw in messages} == expected
    assert {task for task, *_ in messages} == {verify_log.name}


def test_keyword_arguments_travel_and_the_platform_is_left_out_by_default(
    broker, django_capture_on_commit_callbacks
):
    queue, sent = broker
    with django_capture_on_commit_callbacks(execute=True):
        fan_out(build_report, queue=queue, start="2026-11-01", end="2026-11-08")
    messages = sent()
    schemas = {schema for _task, schema, _args, _kw in messages}
    assert "public" not in schemas
    assert {"alpha", "bravo"} <= schemas
    assert all(kw == {"start": "2026-11-01", "end": "2026-11-08"} for *_, kw in messages)


def test_nothing_is_sent_before_the_commit(broker, django_capture_on_commit_callbacks):
    queue, sent = broker
    with django_capture_on_commit_callbacks() as callbacks:
        chosen = fan_out(verify_log, queue=queue)
        assert sent() == []
    assert len(callbacks) == len(chosen) >= 2
    assert sent() == []  # the transaction never committed


def test_only_the_agencies_given(broker, agency_b, django_capture_on_commit_callbacks):
    queue, sent = broker
    with django_capture_on_commit_callbacks(execute=True):
        fan_out(verify_log, agencies=[agency_b], queue=queue)
    assert [(schema, args) for _task, schema, args, _kw in sent()] == [
        (agency_b.schema_name, [agency_b.id])
    ]


def test_a_task_runs_only_in_its_agencys_schema(agency_a, agency_b):
    with schema_context(agency_a.schema_name):
        assert task_agency(agency_a.id) == agency_a
    with schema_context(agency_b.schema_name), pytest.raises(RuntimeError, match="refusing"):
        task_agency(agency_a.id)
    with pytest.raises(RuntimeError, match="ran in public"):
        task_agency(agency_a.id)
