"""US plate formats and pattern-aware decoding of the recognizer's CTC output.

Formats are written with ``L`` for a letter and ``D`` for a digit (separators are not
part of the number).  They are the standard passenger formats of each state as
issued in recent decades (public knowledge, not derived from any image set).  A
reading is bent to a format only when the format's best path scores within a margin
of the unconstrained best path, so vanity plates that fit no format are kept as read; a
reading that fits none because of a letter that looks like the digit the format wants
(California's open-top 4 read as L) is written with the digit (``bend_look_alikes``).
"""

from __future__ import annotations

import numpy as np

from . import ctc
from .matching import READ_AS

STATE_PATTERNS: dict[str, tuple[str, ...]] = {
    "AK": ("LLLDDD",),
    "AL": ("DLDDDDL", "DDLDDDL", "DLLDDDD", "DDLLDDD"),
    "AR": ("DDDLLL", "LLLDDL"),
    "AZ": ("LLLDDDD", "DDDLLL", "LLLDDD"),
    "CA": ("DLLLDDD",),
    "CO": ("DDDLLL", "LLLDDD", "LLDDDD", "LLLLDD"),
    "CT": ("DDDLLL", "LLDDDD", "DLLLDD", "LLDDDDD"),
    "DC": ("LLDDDD", "LDDDD"),
    "DE": ("DDDDDD", "DDDDD", "DDDDDDD"),
    "FL": ("LDDDLL", "DDDLLL", "LLLLDD", "LLLDLL", "DDDDLL", "LLLDDD"),
    "GA": ("LLLDDDD", "LLLDDD"),
    "HI": ("LLLDDD",),
    "IA": ("DDDLLL", "LLLDDD"),
    "ID": ("DLDDDDD", "DLLDDDD", "DDLDDDD", "DLDDDD", "DLLDDD", "LDDDDD"),
    "IL": ("LDDDDDD", "LLDDDDD", "DDDDDDD"),
    "IN": ("DDDLLL", "DDDL", "DDDLL", "LDLDLL"),
    "KS": ("DDDLLL",),
    "KY": ("DDDLLL", "LLLDDL"),
    "LA": ("LLLDDD", "DDDLLL"),
    "MA": ("DLLDDD", "DDDLLD", "DDLLDD", "DDDDLL", "DLLLDD"),
    "MD": ("DLLDDDD", "DLLLDD", "LLLDDDD", "DLLDDD"),
    "ME": ("DDDDLL", "DDDLL"),
    "MI": ("LLLDDDD", "DLLDDD", "LLLDDD"),
    "MN": ("LLLDDD", "DDDLLL"),
    "MO": ("LLDLDL", "DLLDDD"),
    "MS": ("LLLDDD", "DDDLLL", "LLLDDDD"),
    "MT": ("DDDDDDL", "DDDDDDD"),
    "NC": ("LLLDDDD",),
    "ND": ("LLLDDD",),
    "NE": ("DLLDDD", "LLLDDD", "DDLDDD"),
    "NH": ("DDDDDDD", "DDDDDD", "DDDLLL"),
    "NJ": ("LLLDDL", "LDDLLL"),
    "NM": ("LLLDDD", "DDDLLL"),
    "NV": ("DDDLLL", "DDLDDD", "DDDLDD"),
    "NY": ("LLLDDDD",),
    "OH": ("LLLDDDD",),
    "OK": ("DDDLLL", "LLLDDD"),
    "OR": ("DDDLLL", "LLLDDD"),
    "PA": ("LLLDDDD",),
    "RI": ("LLDDD", "DDDDDD", "DDDDD"),
    "SC": ("LLLDDD", "DDDLLL"),
    "SD": ("DLLDDD", "DDLLDD", "DLDDDD"),
    "TN": ("DDDLLL", "LLLDDD"),
    "TX": ("LLDLDDD", "LLLDDDD", "DDDLLL"),
    "UT": ("LDDDLL", "DDDLL"),
    "VA": ("LLLDDDD", "LLDDDD", "DDDDLL", "LLLDDD"),
    "VT": ("LLLDDD", "DDDLDDD"),
    "WA": ("DDDLLL", "LLLDDDD"),
    "WI": ("DDDLLL", "LLLDDD", "LLLDDDD"),
    "WV": ("DLLDDD", "DLDDDD"),
    "WY": ("DDDDD", "DDDDL", "DDDD"),
}

# The commonest formats across states, used when the state is not known (most vehicle
# photos: the state's name is a few pixels tall there).  Missouri's LLDLDL was added on
# 2026-12-03 after the dev photos showed Missouri plates read with an I for a 1 (the format
# is public; the dev photos chose which state's to add).
GENERIC_PATTERNS: tuple[str, ...] = (
    "DLLLDDD",
    "LLLDDDD",
    "LLLDDD",
    "DDDLLL",
    "LLDDDD",
    "DDDDLL",
    "LLDLDDD",
    "DLLDDD",
    "LDDDDDD",
    "LLLDDL",
    "DLDDDDL",
    "DDLDDDL",
    "LLDDD",
    "DLLLDD",
    "LDDDLL",
    "LLDLDL",
)

STATE_MARGIN = 6.0  # nats a state format may lose against the free reading
GENERIC_MARGIN = 2.0  # the same for the generic formats
MAX_LENGTH_CHANGE = 1  # a format may drop or add this many characters (stickers, bolts)

# Letters the recognizer reads, sure of itself, where the plate has the digit they look like:
# California's open-top 4 as L (``READ_AS``, which hotlist matching also tries), a serifless 1
# as I.  A reading that fits no format but would fit one with at most ``MAX_LOOK_ALIKES`` of
# them written as the digit is taken so (``bend_look_alikes``); the format is the evidence for
# the digit, not the recognizer, so each bent character's probability is ``LOOK_ALIKE_SHARE``
# of the letter's (the glyph is as much the one as the other).  Only these two, and only
# towards the digit: bending digits into letters too (4 as A, 8 as B, 5 as S...) turned right
# readings of the dev photos wrong, and Z, S, B, G, D, Q, T as digits changed none of them
# (O and 0, printed alike, are ``one_glyph_o``'s).
AS_DIGIT: dict[str, str] = {**READ_AS, "I": "1"}
MAX_LOOK_ALIKES = 2
LOOK_ALIKE_SHARE = 0.5


def fits(text: str, pattern: str) -> bool:
    return len(text) == len(pattern) and all(
        (p == "L" and c.isalpha()) or (p == "D" and c.isdigit()) or p == "?"
        for c, p in zip(text, pattern, strict=True)
    )


def join_boxes(probs: list[np.ndarray]) -> np.ndarray | None:
    """One CTC sequence from the per-box sequences, a blank step between boxes."""
    if not probs:
        return None
    blank = np.zeros((1, probs[0].shape[1]), dtype=probs[0].dtype)
    blank[0, 0] = 1.0
    parts: list[np.ndarray] = []
    for p in probs:
        if parts:
            parts.append(blank)
        parts.append(p)
    return np.vstack(parts)


def decode_sequence(
    seq: np.ndarray, state: str | None, *, use_patterns: bool = True
) -> ctc.Decoded:
    free = ctc.greedy(seq)
    if not use_patterns or not free.text:
        return free
    seq = ctc.compress(seq)
    tiers: list[tuple[tuple[str, ...], float]] = []
    if state and state in STATE_PATTERNS:
        tiers.append((STATE_PATTERNS[state], STATE_MARGIN))
    tiers.append((GENERIC_PATTERNS, GENERIC_MARGIN))
    for patterns, margin in tiers:
        if any(fits(free.text, p) for p in patterns):
            return free
        best: ctc.Decoded | None = None
        for pattern in patterns:
            if abs(len(pattern) - len(free.text)) > MAX_LENGTH_CHANGE:
                continue
            d = ctc.constrained(seq, pattern)
            if d is not None and (best is None or d.score > best.score):
                best = d
        if best is not None and best.score >= free.score - margin:
            return best
    return _bent(free, state)


def bend_look_alikes(text: str, state: str | None) -> tuple[str, tuple[int, ...]] | None:
    """``text`` with the fewest letters of ``AS_DIGIT`` written as their digit that makes it
    fit one of ``state``'s formats (or, failing those, a generic one), and the places
    changed; None when no format is that close or ``text`` fits one already.

    A reading of letters only is a word (a vanity plate: FAMILY, QUILLS), never bent."""
    if fits_format(text, state) or not any(c.isdigit() for c in text):
        return None
    tiers = [STATE_PATTERNS[state]] if state and state in STATE_PATTERNS else []
    tiers.append(GENERIC_PATTERNS)
    for patterns in tiers:
        best: tuple[str, tuple[int, ...]] | None = None
        for pattern in patterns:
            if len(pattern) != len(text):
                continue
            places = tuple(
                i
                for i, (c, p) in enumerate(zip(text, pattern, strict=True))
                if p == "D" and c in AS_DIGIT
            )
            bent = "".join(AS_DIGIT[c] if i in places else c for i, c in enumerate(text))
            if (
                len(places) <= MAX_LOOK_ALIKES
                and fits(bent, pattern)
                and (best is None or len(places) < len(best[1]))
            ):
                best = (bent, places)
        if best is not None:
            return best
    return None


def _bent(free: ctc.Decoded, state: str | None) -> ctc.Decoded:
    got = bend_look_alikes(free.text, state)
    if got is None:
        return free
    text, places = got
    probs = list(free.char_probs)
    for i in places:
        probs[i] *= LOOK_ALIKE_SHARE
    return ctc.Decoded(text, free.score, tuple(probs))


def fits_format(text: str, state: str | None) -> bool:
    """Whether ``text`` fits the state's formats or a generic US format."""
    patterns = STATE_PATTERNS.get(state or "", ()) + GENERIC_PATTERNS
    return any(fits(text, p) for p in patterns)


def one_glyph_o(text: str, state: str | None) -> str:
    """Write the round O/0 glyph as the digit 0 unless a format puts a letter there.

    Most states print the letter O and the digit 0 with one glyph, so on a plate that
    fits no format (a vanity plate) the two cannot be told apart; the convention
    is the digit (the benchmark's labels write it that way too).
    Where the plate fits a format, the format has already decided letter or digit.
    Searches fold O and 0 together whatever is stored (``captures.reading.matching``).
    """
    if "O" not in text or fits_format(text, state):
        return text
    return text.replace("O", "0")


def decode_plate(probs: list[np.ndarray], state: str | None) -> tuple[str | None, float]:
    seq = join_boxes(probs)
    if seq is None:
        return None, 0.0
    d = decode_sequence(seq, state)
    return (one_glyph_o(d.text, state) or None), d.confidence
