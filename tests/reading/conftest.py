"""Fixtures for plate-reading tests: one reader per session, plates rendered here.

The plates are drawn with Pillow's own bundled font (Aileron), which the recognizer
never saw in training (training renders DejaVu and Liberation faces), in a layout of
their own (state name at the bottom, yellow plate, no separators or graphics).
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont


def draw_plate(
    text: str,
    *,
    state_name: str = "",
    size: tuple[int, int] = (300, 150),
    font_size: int = 62,
    background=(246, 226, 120),
    ink=(15, 15, 15),
) -> Image.Image:
    w, h = size
    img = Image.new("RGB", size, background)
    d = ImageDraw.Draw(img)
    d.rectangle([3, 3, w - 4, h - 4], outline=ink, width=3)
    font = ImageFont.load_default(size=font_size)
    tw = d.textlength(text, font=font)
    left, top, right, bottom = font.getbbox(text)
    d.text(((w - tw) / 2, h * 0.42 - (bottom + top) / 2), text, font=font, fill=ink)
    if state_name:
        small = ImageFont.load_default(size=int(h * 0.15))
        sw = d.textlength(state_name, font=small)
        d.text(((w - sw) / 2, h * 0.72), state_name, font=small, fill=ink)
    return img


def draw_words(text: str, *, size: int = 40, pad: int = 8) -> Image.Image:
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 235)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=25)
    return img


@pytest.fixture(scope="session")
def plate_reader(tmp_path_factory):
    """The fine-tuned reader, built offline in a fresh easyocr folder, once per session."""
    from captures.reading.pipeline import PlateReader

    return PlateReader(model="plate", base_dir=tmp_path_factory.mktemp("easyocr"), threads=2)
