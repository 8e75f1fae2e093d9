"""Confidences as the review queue, results and capture pages show them: a near-certain read
keeps a decimal (rounded down), so only a certain one reads 100%."""

import pytest

from captures.templatetags.capture_tags import percent


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (0.62, "62%"),
        (0.989, "99%"),
        (0.9988, "99.8%"),
        (0.99999, "99.9%"),
        (1.0, "100%"),
        (0.0, "0%"),
    ],
)
def test_percent(value, shown):
    assert percent(value) == shown
