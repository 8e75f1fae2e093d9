"""The transparency page's hotlist figures are the agency's real counts (no plates)."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from captures.hotlists.models import Hit, Hotlist
from tests.factories import unique


def test_hit_figures_come_from_the_hits(agency_a):
    with schema_context(agency_a.schema_name):
        hotlist = Hotlist.objects.create(name=unique("T "), owner="x")
        Hotlist.objects.create(name=unique("Off "), owner="x", active=False)
        common = {
            "hotlist": hotlist,
            "hotlist_name": hotlist.name,
            "rule": "exact",
            "source": "camera",
            "read_plate": "PUBLIC1",
            "entry_plate": "PUBLIC1",
            "reason": "bolo",
            "captured_at": timezone.now(),
        }
        Hit.objects.create(**common, status="confirmed", outcome="arrest", case_number="C1")
        Hit.objects.create(**common, status="confirmed")
        Hit.objects.create(**common, status="misread")
        Hit.objects.create(**common)
    html = Client(HTTP_HOST="alpha.localhost").get("/transparency/").content.decode()
    assert "compared against 1 active hotlist." in html
    assert "<strong>4</strong> hits" in html
    assert "confirmed <strong>2</strong> as a match" in html
    assert "found <strong>1</strong> misread" in html
    assert "<strong>1</strong> confirmed hit led to action" in html
    assert "PUBLIC1" not in html
