"""The one plate renderer (captures.synthetic.plates): what the tests, the simulator and the
demo rely on."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from captures.reading.patterns import STATE_PATTERNS, fits
from captures.reading.states import STATES
from captures.synthetic import plates


def test_plate_numbers_for_a_state_are_in_one_of_its_formats():
    rng = random.Random(3)
    for state in STATES:
        text = plates.random_plate_text(rng, state=state)
        assert any(fits(text, pattern) for pattern in STATE_PATTERNS[state]), (state, text)


def test_a_plate_is_drawn_for_the_state_and_number_asked_for():
    plate = plates.render_plate(random.Random(5), text="KIL4321", state="TX", clean=True)
    assert (plate.text, plate.state) == ("KIL4321", "TX")
    assert plate.image.size == plates.PLATE_SIZE
    x0, y0, x1, y1 = plate.box
    assert 0 <= x0 < x1 <= plate.image.width
    assert 0 <= y0 < y1 <= plate.image.height
    with pytest.raises(ValueError, match="A-Z and 0-9 only"):
        plates.render_plate(random.Random(5), text="KIL-4321")


def test_plates_and_photos_are_drawn_without_the_debian_fonts(monkeypatch):
    # A laptop without them still gets demo and test plates (Pillow's own face).
    monkeypatch.setattr(plates, "font_files", lambda: ({}, {}))
    for seed in range(20):
        rng = random.Random(seed)
        plate = plates.render_plate(rng, clean=seed % 2 == 0)
        damaged = plates.degrade(plate.image, rng=rng, difficulty=0.5)
        scene = plates.render_vehicle(damaged, rng=rng)
        assert damaged.size == (390, 210)
        assert scene.size == (640, 400)
        low, high = plate.image.crop(plate.box).convert("L").getextrema()
        assert high - low > 60  # the number is drawn


def test_the_held_out_design_draws_nothing_from_the_generator_and_boxes_the_number():
    rng = random.Random(9)
    before = rng.getstate()
    plate = plates.render_plate(rng, text="HXT2291", state_name="NEW YORK", design="held-out")
    assert rng.getstate() == before  # the training stream cannot be shifted by it
    x0, y0, x1, y1 = plate.box
    ink = plate.image.crop(plate.box).convert("L").getextrema()
    assert ink[1] - ink[0] > 100
    assert 0 < x0 < x1 < plate.image.width
    assert y0 < y1
    assert plate.image.getpixel((plate.image.width // 2, 20)) == plates.HELD_OUT_BACKGROUND
    blank = plates.render_plate(rng, text="", design="held-out")
    assert blank.group_boxes == []
    assert blank.image.convert("L").crop((10, 10, 290, 140)).getextrema()[0] > 200
    with pytest.raises(ValueError, match="design"):
        plates.render_plate(rng, design="other")


def test_no_second_plate_renderer_in_the_tests_or_the_simulator():
    """Plates are drawn only by captures.synthetic.plates (tests, simulator, training)."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[3]
    offenders = []
    for folder in ("tests", "captures", "alpr_portal"):
        for path in (root / folder).rglob("*.py"):
            if path == root / "captures/synthetic/plates.py" or path == pathlib.Path(__file__):
                continue
            source = path.read_text()
            # A plate drawn by hand: a border, then text in a sized face.
            if "ImageDraw" in source and "rectangle" in source and "load_default(size" in source:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def _runs(row) -> int:
    """The number of separate runs of ink in one row of a mask."""
    return int(row[0]) + int(((row[1:] == 1) & (row[:-1] == 0)).sum())


def test_the_open_four_is_drawn_open_at_the_top_in_place_of_the_fonts_four():
    closed = plates.render_plate(random.Random(1), text="4KBZ245", design="held-out")
    opened = plates.render_plate(random.Random(1), text="4KBZ245", design="held-out", open_four=1.0)
    a = np.asarray(closed.image.convert("L")) < 128
    b = np.asarray(opened.image.convert("L")) < 128
    x0, y0, x1, y1 = closed.box
    changed = np.nonzero((a != b).any(axis=0))[0]
    assert changed.size
    assert x0 - 2 <= changed.min()
    assert changed.max() <= x1 + 2
    # Only the two 4s changed: the columns split into two groups, the K to the 2 untouched.
    gaps = np.nonzero(np.diff(changed) > 1)[0]
    assert len(gaps) == 1
    first = slice(changed[0], changed[gaps[0]] + 1)
    width = changed[gaps[0]] - changed[0] + 1
    assert changed[gaps[0] + 1] - changed[gaps[0]] > 3 * width  # K, B, Z and 2 between them
    # Near its top the font's 4 is one run of ink (its apex); the open 4 is two (the
    # slanted stroke and the upright, not joined).
    top = y0 + max(1, (y1 - y0) // 12)
    assert _runs(a[top, first]) == 1
    assert _runs(b[top, first]) == 2


def test_open_fours_draw_nothing_more_from_the_generator_unless_asked():
    for seed in range(12):
        plain_rng, asked_rng = random.Random(seed), random.Random(seed)
        plain = plates.render_plate(plain_rng)
        off = plates.render_plate(asked_rng, open_four=0.0)
        # The default draws exactly what earlier runs drew (the committed weights' data).
        assert plain_rng.getstate() == asked_rng.getstate()
        assert np.array_equal(np.asarray(plain.image), np.asarray(off.image))
    differs = 0
    for seed in range(40):
        text = plates.random_plate_text(random.Random(seed)) + "4"
        plain = plates.render_plate(random.Random(seed), text=text)
        opened = plates.render_plate(random.Random(seed), text=text, open_four=1.0)
        differs += not np.array_equal(np.asarray(plain.image), np.asarray(opened.image))
    assert differs == 40


@pytest.mark.parametrize("cell", [None, 30.0])
def test_every_face_of_the_varied_design_draws_its_four_open_when_asked(cell):
    main_fonts, _text = plates.font_files()
    faces = list(main_fonts.values()) or [None]
    for path in faces:
        font = plates._font(str(path), 60) if path else plates.any_font(random.Random(0), {}, 60)
        style = plates._NumberStyle(["4"], " ", 60, font, 1.0, 0.0, cell, 0)
        closed = np.asarray(plates._group_canvas("4", style)) > 127
        opened = (
            np.asarray(plates._group_canvas("4", dataclasses.replace(style, open_four=True))) > 127
        )
        # A row a twelfth of the way down: the font's 4 has one run of ink there (its
        # apex), the open 4 two (its slanted stroke and its upright).
        assert _runs(closed[len(closed) // 12 + 1]) == 1, path
        assert _runs(opened[len(opened) // 12 + 1]) == 2, path
