"""Calibrated confidence: per group of reads (fits a plate format or not), a monotone map into
[0, 1] fitted by isotonic regression."""

from __future__ import annotations

import random

import numpy as np
import pytest

from captures.reading.calibration import (
    GROUPS,
    TABLE,
    calibrate,
    fit_isotonic,
    group_of,
    load_table,
)


def _random_fit(seed: int):
    rng = random.Random(seed)
    raw = [rng.random() for _ in range(500)]
    right = [rng.random() < r**3 for r in raw]  # right more often at higher scores
    return fit_isotonic(raw, right)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fit_is_monotone_bounded_and_spans_zero_to_one(seed):
    xs, ys = _random_fit(seed)
    assert xs[0] == 0.0
    assert xs[-1] == 1.0
    assert all(a <= b for a, b in zip(xs, xs[1:], strict=False))
    assert all(a <= b for a, b in zip(ys, ys[1:], strict=False))
    assert all(0.0 < y < 1.0 for y in ys)  # never certain either way
    assert len(xs) <= 42


def test_the_fit_follows_the_data():
    raw = [0.1] * 50 + [0.5] * 50 + [0.9] * 50
    right = [False] * 50 + [True, False] * 25 + [True] * 50
    table = tuple(np.asarray(v) for v in fit_isotonic(raw, right))
    # Each block's share of right reads, kept 1 / (150 + 2) away from 0 and 1.
    assert calibrate(0.1, table=table) == pytest.approx(1 / 152, abs=1e-4)
    assert calibrate(0.5, table=table) == 0.5
    assert calibrate(0.9, table=table) == pytest.approx(151 / 152, abs=1e-4)
    # A violation (more right at the lower score) is pooled, not kept.
    table = tuple(np.asarray(v) for v in fit_isotonic([0.2] * 10 + [0.8] * 10, [1] * 10 + [0] * 10))
    assert calibrate(0.2, table=table) == calibrate(0.8, table=table) == 0.5


@pytest.mark.parametrize(("plate", "state"), [("7KDM482", "CA"), ("KDM482", None), ("Q", None)])
def test_calibrate_is_monotone_and_bounded_everywhere_on_the_committed_table(plate, state):
    table = load_table(TABLE)
    assert table is not None, "captures/reading/models/calibration.json is committed"
    assert set(table) == set(GROUPS)
    grid = [i / 1000 for i in range(-20, 1021)]
    values = [calibrate(r, plate, state) for r in grid]
    assert all(v is not None and 0.0 <= v <= 1.0 for v in values)
    assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert values[-1] > values[0]  # it says something
    assert calibrate(None, plate, state) is None


def test_reads_that_fit_no_plate_format_are_trusted_less_on_the_committed_table():
    """The point of the groups: a confident read no state issues (a character dropped or
    added, a sticker in the number) is right less often than one that fits a format."""
    assert group_of("7KDM482", "CA") == "fits"
    assert group_of("KDM482", None) == "fits"  # a common US format
    assert group_of("7KDM4", "CA") == "other"  # a character dropped
    assert group_of("K4M9P2QX", "CA") == "other"
    assert group_of(None, "CA") == "other"
    for raw in (0.8, 0.9, 0.95):
        assert calibrate(raw, "K4M9P2QX", "CA") < calibrate(raw, "7KDM482", "CA")


def test_each_group_has_its_own_map():
    fits = tuple(np.asarray(v) for v in fit_isotonic([0.5] * 10 + [0.9] * 10, [1] * 20))
    other = tuple(np.asarray(v) for v in fit_isotonic([0.5] * 10 + [0.9] * 10, [0] * 15 + [1] * 5))
    table = {"fits": fits, "other": other}
    assert calibrate(0.9, "7KDM482", "CA", table=table) == pytest.approx(21 / 22, abs=1e-4)
    assert calibrate(0.9, "K4M9P2QX", "CA", table=table) == 0.5
    assert calibrate(0.5, "K4M9P2QX", "CA", table=table) == pytest.approx(1 / 22, abs=1e-4)


def test_a_table_of_one_map_serves_both_groups(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('{"raw": [0.0, 1.0], "calibrated": [0.0, 0.5]}')
    table = load_table(path)
    assert table is not None
    assert calibrate(1.0, "7KDM482", "CA", table=table) == 0.5
    assert calibrate(1.0, "K4M9P2QX", "CA", table=table) == 0.5


def test_a_missing_table_is_none_not_an_error(tmp_path):
    assert load_table(tmp_path / "missing.json") is None


@pytest.mark.ocr
def test_the_reader_reports_the_calibrated_confidence(plate_reader):
    from tests.factories import draw_plate

    reading = plate_reader.read_plate_image(draw_plate("7KDM482", state_name="CALIFORNIA"))
    assert reading.raw_confidence is not None
    assert reading.confidence == calibrate(reading.raw_confidence, reading.plate, reading.state)
    (batched, _) = plate_reader.read_plate_images([draw_plate("7KDM482"), draw_plate("K4M9P")])
    assert batched.confidence == calibrate(batched.raw_confidence, batched.plate, batched.state)


def test_tied_scores_are_one_point_of_the_fit():
    xs, ys = fit_isotonic([1.0] * 10 + [0.5] * 4, [1] * 9 + [0] + [1, 0, 0, 0])
    assert xs.count(1.0) == 1
    assert ys[-1] == 0.9
