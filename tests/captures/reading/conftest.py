"""Fixtures for plate-reading tests: one reader per session and runtime (the plates are drawn
by ``tests.factories.draw_plate``: the one renderer's held-out design, in a font and layout
the recognizer never trained on)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def easyocr_dir(tmp_path_factory):
    """A fresh easyocr folder for the session (the ONNX files are exported into it once)."""
    return tmp_path_factory.mktemp("easyocr")


@pytest.fixture(scope="session")
def plate_reader(easyocr_dir):
    """The fine-tuned reader as the worker runs it (ONNX Runtime), built offline."""
    from captures.reading.pipeline import PlateReader

    return PlateReader(model="plate", base_dir=easyocr_dir, threads=2)


@pytest.fixture(scope="session")
def torch_reader(easyocr_dir):
    """The same reader on easyocr's torch modules (``ALPR_OCR_RUNTIME=torch``)."""
    from captures.reading.pipeline import PlateReader

    return PlateReader(model="plate", base_dir=easyocr_dir, threads=2, runtime="torch")
