"""The one plate renderer (captures.synthetic.plates): what the tests, the simulator and the
demo rely on."""

from __future__ import annotations

import random

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
