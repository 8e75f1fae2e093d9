"""One statement over several agency schemas (``tenants.schemas.rows_in_schemas``): each part
reads its own schema's tables, keeps its own order and limit, and is converted like the ORM's."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from captures.models import Capture, ProhibitedTerm
from tenants.schemas import qualified_sql, rows_in_schemas
from tests.factories import make_capture

pytestmark = pytest.mark.django_db


def test_each_part_reads_its_own_schema_in_its_own_order(agency_a, agency_b):
    now = timezone.now()
    for hours in (3, 1, 2):
        make_capture(agency_a, plate="RIS111", captured_at=now - datetime.timedelta(hours=hours))
    make_capture(agency_b, plate="RIS111", captured_at=now - datetime.timedelta(hours=5))
    with schema_context(agency_b.schema_name):
        ProhibitedTerm.objects.create(term="ris-only-in-b")
    newest = Capture.objects.filter(plate="RIS111").order_by("-captured_at")
    parts = [
        (agency_a.schema_name, newest.values_list("captured_at", "plate")[:2]),
        (agency_b.schema_name, newest.values_list("captured_at", "plate")[:2]),
        (agency_a.schema_name, newest.none().values_list("captured_at", "plate")),
    ]
    with CaptureQueriesContext(connection) as statements:  # from public: no search path used
        in_a, in_b, empty = rows_in_schemas(parts)
        terms = rows_in_schemas(
            [
                (schema, ProhibitedTerm.objects.filter(term="ris-only-in-b").values_list("term"))
                for schema in (agency_a.schema_name, agency_b.schema_name)
            ]
        )
    sent = [q["sql"] for q in statements.captured_queries if not q["sql"].startswith("SET ")]
    assert len(sent) == 2
    assert [when for when, _ in in_a] == sorted((when for when, _ in in_a), reverse=True)
    assert len(in_a) == 2  # the part's own limit
    assert in_a[0][0] > now - datetime.timedelta(hours=1, minutes=1)  # its newest, aware
    assert len(in_b) == 1
    assert in_b[0][0] < now - datetime.timedelta(hours=4)
    assert empty == []
    assert terms == [[], [("ris-only-in-b",)]]


def test_qualified_sql_names_every_table_in_the_schema():
    sql = 'SELECT "t"."a" FROM "captures_capture" INNER JOIN "captures_camera" ON (x) WHERE y'
    assert qualified_sql(sql, "alpha") == (
        'SELECT "t"."a" FROM "alpha"."captures_capture" INNER JOIN "alpha"."captures_camera" '
        "ON (x) WHERE y"
    )
