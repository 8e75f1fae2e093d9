"""Fixtures for plate-reading tests: one reader per session (the plates are drawn by
``tests.factories.draw_plate``: the one renderer's held-out design, in a font and layout the
recognizer never trained on)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def plate_reader(tmp_path_factory):
    """The fine-tuned reader, built offline in a fresh easyocr folder, once per session."""
    from captures.reading.pipeline import PlateReader

    return PlateReader(model="plate", base_dir=tmp_path_factory.mktemp("easyocr"), threads=2)
