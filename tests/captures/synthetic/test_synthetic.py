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
