"""The demo's hotlist holds plates the simulator sends, so demo traffic raises alerts."""

from __future__ import annotations

import io
import random

import pytest
from django_tenants.utils import schema_context

from alpr_portal.demo import hotlists as demo_hotlists
from captures.hotlists.matching import entries_matching
from captures.hotlists.models import Hotlist
from captures.synthetic import simulate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [5, 50, 300, 2000])
def test_the_first_regulars_are_the_same_whatever_the_count(count):
    sent = simulate._regulars(random.Random(2026), count)
    assert sent[:3] == simulate.regular_plates(seed=2026)


def test_the_demo_list_matches_the_simulators_regulars(agency_a):
    demo_hotlists.seed(agency=agency_a, stdout=io.StringIO())
    demo_hotlists.seed(agency=agency_a, stdout=io.StringIO())  # again: nothing changes
    with schema_context(agency_a.schema_name):
        extract = Hotlist.objects.get(name=demo_hotlists.EXTRACT)
        expected = {p for s in demo_hotlists.SEEDS for p in simulate.regular_plates(seed=s)}
        assert extract.entries.count() == len(expected)
        for seed in demo_hotlists.SEEDS:
            for state, plate in simulate.regular_plates(seed=seed):
                assert entries_matching(plate=plate, state=state), (seed, plate)
