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


def _sure_of(text: str, *, p: float = 0.98) -> np.ndarray:
    """A recognizer output sure of ``text``: each character's step at ``p`` (the rest spread
    over the other classes), a blank step between characters."""
    from captures.reading.engine import PLATE_CHARS

    n = len(PLATE_CHARS) + 1
    rows = []
    for c in text:
        row = np.full(n, (1 - p) / (n - 1))
        row[1 + PLATE_CHARS.index(c)] = p
        blank = np.full(n, (1 - p) / (n - 1))
        blank[0] = p
        rows += [row, blank]
    return np.asarray(rows, dtype=np.float32)


@pytest.mark.parametrize(
    ("read", "state", "bent"),
    [
        ("LNZZ935", None, "4NZZ935"),  # California's open 4 read as L: DLLLDDD
        ("6LKRL81", "CA", "6LKR481"),  # only the L where the format wants a digit
        ("6XIU6L1", None, "6XIU641"),
        ("I4I0502", "NH", "1410502"),  # NH's DDDDDDD: two serifless 1s
        ("MJ3RIV", None, "MJ3R1V"),  # Missouri's LLDLDL, among the generic formats
    ],
)
def test_look_alike_letters_become_the_digit_the_format_wants(read, state, bent):
    from captures.reading.patterns import bend_look_alikes, fits_format

    assert not fits_format(read, state)
    text, places = bend_look_alikes(read, state)
    assert text == bent
    assert places == tuple(i for i, (a, b) in enumerate(zip(read, bent, strict=True)) if a != b)
    assert fits_format(text, state)


@pytest.mark.parametrize(
    ("read", "state"),
    [
        ("7KBM442", "CA"),  # fits already
        ("LUV2FLY", "CA"),  # a vanity plate no format is near
        ("FAMILY", "IL"),  # letters only: a word, never bent (LLLDDL would take I1, L4)
        ("QUILLS", "NH"),
        ("LLL1234", None),  # three look-alikes: too far from any format
        ("4KB2A65", None),  # a digit where a letter belongs is not bent back
    ],
)
def test_readings_far_from_a_format_or_words_are_not_bent(read, state):
    from captures.reading.patterns import bend_look_alikes

    assert bend_look_alikes(read, state) is None


def test_a_bent_reading_is_less_sure_than_the_glyphs_alone():
    from captures.reading.patterns import LOOK_ALIKE_SHARE, decode_plate

    seq = _sure_of("LKBZ265")
    free = ctc.greedy(seq)
    assert free.text == "LKBZ265"
    bent = decode_sequence(seq, "CA")
    assert bent.text == "4KBZ265"
    # One of seven characters at half its probability: the mean falls by 2 ** (1/7).
    assert bent.confidence == pytest.approx(free.confidence * LOOK_ALIKE_SHARE ** (1 / 7))
    assert decode_plate([seq], None) == ("4KBZ265", pytest.approx(bent.confidence))
    # Without patterns the glyphs stay as read.
    assert decode_sequence(seq, "CA", use_patterns=False).text == "LKBZ265"
