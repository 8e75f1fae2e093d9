"""How the number's line is framed for the recognizer (captures/reading/framing.py)."""

from __future__ import annotations

import numpy as np

from captures.reading.framing import STRETCH, TRIM, framed
from captures.reading.lines import Box


def _ramp(h: int = 120, w: int = 300) -> np.ndarray:
    """Each row's grey level is its row number: which rows a crop kept can be read off."""
    return np.repeat(np.arange(h, dtype=np.uint8)[:, None], w, axis=1)


def test_the_box_is_trimmed_top_and_bottom_and_drawn_wider():
    gray = _ramp()
    box = Box(x0=50, x1=250, y0=10, y1=110)
    crop = framed(gray, box)
    cut = round(TRIM * 100)
    assert crop.shape == (100 - 2 * cut, round(200 * STRETCH))
    assert crop[0, 0] == 10 + cut  # the first row kept
    assert crop[-1, -1] == 110 - cut - 1  # the last row kept


def test_no_trim_no_stretch_is_the_box_itself():
    gray = _ramp()
    box = Box(x0=5, x1=80, y0=20, y1=60)
    assert np.array_equal(framed(gray, box, 0.0, 1.0), gray[20:60, 5:80])


def test_a_box_too_small_to_trim_is_kept_whole():
    gray = _ramp()
    box = Box(x0=0, x1=30, y0=40, y1=44)  # 4 px tall: trimming would leave nothing to read
    crop = framed(gray, box, 0.3, 1.0)
    assert crop.shape == (4, 30)
    assert crop[0, 0] == 40


def test_an_empty_box_gives_an_empty_crop_not_an_error():
    gray = _ramp()
    assert framed(gray, Box(x0=10, x1=10, y0=0, y1=50)).size == 0
