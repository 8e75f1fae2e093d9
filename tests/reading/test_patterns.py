"""Pattern-aware decoding: formats fix letter/digit confusions, vanity plates stay."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from captures.reading import ctc
from captures.reading.patterns import decode_sequence, fits, join_boxes


def draw_line(chars: list[str], *, size: int = 56) -> np.ndarray:
    """A plate number's line; a "B/8" entry draws a glyph halfway between B and 8."""
    font = ImageFont.load_default(size=size)
    cell = int(size * 0.72)
    img = Image.new("L", (cell * len(chars) + 24, int(size * 1.3)), 240)
    for i, ch in enumerate(chars):
        glyph = Image.new("L", (cell, img.height), 0)
        d = ImageDraw.Draw(glyph)
        for c in ch.split("/"):
            layer = Image.new("L", glyph.size, 0)
            ImageDraw.Draw(layer).text((2, 4), c, font=font, fill=255)
            glyph = ImageChops.lighter(glyph, layer)
        del d
        img.paste(15, (12 + i * cell, 0), glyph)
    return np.asarray(img)


def test_constrained_decoding_agrees_with_a_brute_force_search():
    import itertools

    from captures.reading.engine import PLATE_CHARS

    rng = np.random.default_rng(1)
    sub = [0, 1, 2, 27, 28]  # blank, A, B, 0, 1
    for _ in range(15):
        p = np.full((5, 37), 1e-12)
        p[:, sub] = rng.dirichlet(np.ones(5) * 0.5, size=5)
        for pattern in ("LD", "DL", "LLD"):
            best = None
            for path in itertools.product(sub, repeat=5):
                out, prev = [], 0
                for i in path:
                    if i and i != prev:
                        out.append(PLATE_CHARS[i - 1])
                    prev = i
                text = "".join(out)
                if not fits(text, pattern):
                    continue
                score = sum(np.log(p[t, i]) for t, i in enumerate(path))
                if best is None or score > best[0]:
                    best = (score, text)
            got = ctc.constrained(p, pattern)
            assert got is not None
            assert got.text == best[1]
            assert got.score == pytest.approx(best[0], abs=1e-6)


@pytest.mark.ocr
def test_state_format_corrects_an_8_b_confusion(plate_reader):
    engine = plate_reader.engine
    # California: digit, three letters, three digits. The ambiguous glyph sits where
    # only a letter fits, then where only a digit fits.
    letter_slot = engine.probabilities([draw_line(["7", "K", "B/8", "M", "4", "2", "5"])])
    digit_slot = engine.probabilities([draw_line(["7", "K", "D", "M", "4", "B/8", "5"])])
    free_letter = ctc.greedy(join_boxes(letter_slot)).text
    free_digit = ctc.greedy(join_boxes(digit_slot)).text
    # The glyph really is ambiguous: the free reading gets at least one of them wrong.
    assert free_letter != "7KBM425" or free_digit != "7KDM485"
    assert decode_sequence(join_boxes(letter_slot), "CA").text == "7KBM425"
    assert decode_sequence(join_boxes(digit_slot), "CA").text == "7KDM485"


@pytest.mark.ocr
@pytest.mark.parametrize("vanity", ["LUV2FLY", "SK8R", "GO8BLUE"])
def test_vanity_plates_are_left_alone(plate_reader, vanity):
    probs = plate_reader.engine.probabilities([draw_line(list(vanity))])
    assert decode_sequence(join_boxes(probs), "CA").text == vanity
    assert decode_sequence(join_boxes(probs), None).text == vanity
