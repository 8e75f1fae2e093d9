"""Calibrated confidence: a monotone map into [0, 1], fitted by isotonic regression."""

from __future__ import annotations

import random

import numpy as np
import pytest

from captures.reading.calibration import TABLE, calibrate, fit_isotonic, load_table


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
    assert all(0.0 <= y <= 1.0 for y in ys)
    assert len(xs) <= 42


def test_the_fit_follows_the_data():
    raw = [0.1] * 50 + [0.5] * 50 + [0.9] * 50
    right = [False] * 50 + [True, False] * 25 + [True] * 50
    table = tuple(np.asarray(v) for v in fit_isotonic(raw, right))
    assert calibrate(0.1, table) == 0.0
    assert calibrate(0.5, table) == 0.5
    assert calibrate(0.9, table) == 1.0
    # A violation (more right at the lower score) is pooled, not kept.
    table = tuple(np.asarray(v) for v in fit_isotonic([0.2] * 10 + [0.8] * 10, [1] * 10 + [0] * 10))
    assert calibrate(0.2, table) == calibrate(0.8, table) == 0.5


def test_calibrate_is_monotone_and_bounded_everywhere_on_the_committed_table():
    table = load_table(TABLE)
    assert table is not None, "captures/reading/models/calibration.json is committed"
    grid = [i / 1000 for i in range(-20, 1021)]
    values = [calibrate(r) for r in grid]
    assert all(v is not None and 0.0 <= v <= 1.0 for v in values)
    assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert values[-1] > values[0]  # it says something
    assert calibrate(None) is None


def test_a_missing_table_is_none_not_an_error(tmp_path):
    assert load_table(tmp_path / "missing.json") is None


@pytest.mark.ocr
def test_the_reader_reports_the_calibrated_confidence(plate_reader):
    from tests.factories import draw_plate

    reading = plate_reader.read_plate_image(draw_plate("7KDM482", state_name="CALIFORNIA"))
    assert reading.raw_confidence is not None
    assert reading.confidence == calibrate(reading.raw_confidence)
    (batched, _) = plate_reader.read_plate_images([draw_plate("7KDM482"), draw_plate("K4M9P")])
    assert batched.confidence == calibrate(batched.raw_confidence)


def test_tied_scores_are_one_point_of_the_fit():
    xs, ys = fit_isotonic([1.0] * 10 + [0.5] * 4, [1] * 9 + [0] + [1, 0, 0, 0])
    assert xs.count(1.0) == 1
    assert ys[-1] == 0.9
