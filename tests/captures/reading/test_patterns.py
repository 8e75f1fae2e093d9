"""Pattern-aware decoding: formats fix letter/digit confusions, vanity plates stay."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from captures.reading import ctc
from captures.reading.patterns import decode_sequence, fits, join_boxes


def draw_line(chars: list[str], *, size: int = 56, weight_of_8: float = 0.5) -> np.ndarray:
    """A plate number's line; a "B/8" entry blends B and 8 (``weight_of_8`` of the 8)."""
    font = ImageFont.load_default(size=size)
    gap = int(size * 0.08)
    widths = [int(max(font.getlength(c) for c in ch.split("/"))) + gap for ch in chars]
    img = Image.new("L", (sum(widths) + 24, int(size * 1.3)), 240)
    x = 12

    def glyph_of(c: str, width: int) -> Image.Image:
        g = Image.new("L", (width, img.height), 0)
        ImageDraw.Draw(g).text((0, 4), c, font=font, fill=255)
        return g

    for ch, width in zip(chars, widths, strict=True):
        if ch == "B/8":
            glyph = Image.blend(glyph_of("B", width), glyph_of("8", width), weight_of_8)
        else:
            glyph = glyph_of(ch, width)
        img.paste(15, (x, 0), glyph)
        x += width
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


def _first_confusion(engine, chars, wrong_text, weights):
    """The blend, from clear to ambiguous, at which the free reading first goes wrong."""
    for w in weights:
        seq = join_boxes(engine.probabilities([draw_line(chars, weight_of_8=w)]))
        if ctc.greedy(seq).text == wrong_text:
            return seq
    raise AssertionError(f"the recognizer never read {wrong_text}")


@pytest.mark.ocr
def test_state_format_corrects_an_8_b_confusion(plate_reader):
    engine = plate_reader.engine
    # California plates are digit, three letters, three digits (7KBM442).
    # An 8-like B where only a letter fits: read as 8, corrected to B.
    steps = [i / 20 for i in range(6, 21)]
    seq = _first_confusion(engine, ["7", "K", "B/8", "M", "4", "4", "2"], "7K8M442", steps)
    assert decode_sequence(seq, "CA").text == "7KBM442"
    # A B-like 8 where only a digit fits: read as B, corrected to 8.
    seq = _first_confusion(
        engine, ["7", "K", "D", "M", "4", "B/8", "2"], "7KDM4B2", list(reversed(steps))
    )
    assert decode_sequence(seq, "CA").text == "7KDM482"


@pytest.mark.ocr
@pytest.mark.parametrize("vanity", ["LUV2FLY", "SK8R", "GO8BLUE"])
def test_vanity_plates_are_left_alone(plate_reader, vanity):
    probs = plate_reader.engine.probabilities([draw_line(list(vanity))])
    assert decode_sequence(join_boxes(probs), "CA").text == vanity
    assert decode_sequence(join_boxes(probs), None).text == vanity


@pytest.mark.parametrize(
    ("read", "state", "stored"),
    [
        ("COUGAR", None, "C0UGAR"),  # vanity: the round glyph is written as the digit
        ("GOLFING", "MI", "G0LFING"),
        ("NOX226", None, "NOX226"),  # LLLDDD: the format puts a letter there
        ("778AOS", "IA", "778AOS"),  # DDDLLL
        ("VO820", "RI", "VO820"),  # RI's LLDDD
        ("K4M9P", None, "K4M9P"),  # no O: unchanged
    ],
)
def test_the_round_glyph_is_a_digit_unless_a_format_wants_a_letter(read, state, stored):
    from captures.reading.patterns import one_glyph_o

    assert one_glyph_o(read, state) == stored
