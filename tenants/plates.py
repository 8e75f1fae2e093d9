"""Plate text normalisation and confusion-tolerant match keys (the one implementation).

``normalize_plate`` keeps what a plate number is made of: uppercase A-Z and 0-9.
``match_key`` folds characters that plate readers (and people) confuse into one
representative. ``captures.reading.matching`` documents the groups and is where the
capture code imports them from; they live here, in the ground app, so that the access log's
"who looked at this plate?" filter (``audit``, a floor below ``captures``) folds plates
with the same groups as the searches and hotlists (which also try the reader's look-alike
glyphs, ``READ_AS``; the log's filter does not). ``FOLD_FROM``/``FOLD_TO`` are the same table for
PostgreSQL's ``translate()``, for folding plates stored in JSON.
"""

from __future__ import annotations

import re

_NOT_PLATE = re.compile(r"[^A-Z0-9]")

CONFUSABLE_GROUPS: dict[str, str] = {
    "0": "OQD0",
    "1": "IL1",
    "8": "B8",
    "5": "S5",
    "2": "Z2",
    "6": "G6",
}
_FOLDED = {c: key for key, group in CONFUSABLE_GROUPS.items() for c in group if c != key}
_FOLD = str.maketrans(_FOLDED)
# translate(text, FOLD_FROM, FOLD_TO) in SQL is ``.translate(_FOLD)`` in Python.
FOLD_FROM = "".join(_FOLDED)
FOLD_TO = "".join(_FOLDED.values())


# Glyphs a reader reads as another character that match keys cannot fold without folding too
# much: California's open-top 4 is read as an L (the commonest misread on the benchmark's
# vehicle photos: 9 of 99, the recognizer sure of it), but folding 4 into the I/L/1 group
# would make every 4 a 1.  Hotlist matching tries a read's Ls as 4s (``look_alike_keys``),
# a similar-plates search a plate's 4s as Ls (``misread_texts``): only the reader's error.
READ_AS: dict[str, str] = {"L": "4"}
_MISREAD = {truth: read for read, truth in READ_AS.items()}
# A plate with more of them than this tries only its first few (2**n - 1 variants).
LOOK_ALIKE_MAX = 3


def _swapped(text: str, mapping: dict[str, str]) -> list[str]:
    """``text`` with each combination of its first ``LOOK_ALIKE_MAX`` characters that
    ``mapping`` names replaced (``"L7L"``, ``{"L": "4"}`` -> ``47L``, ``L74``, ``474``)."""
    spots = [i for i, c in enumerate(text) if c in mapping][:LOOK_ALIKE_MAX]
    out = []
    for mask in range(1, 2 ** len(spots)):
        chars = list(text)
        for bit, i in enumerate(spots):
            if mask >> bit & 1:
                chars[i] = mapping[chars[i]]
        out.append("".join(chars))
    return out


def look_alike_keys(plate: str) -> list[str]:
    """Match keys of the plates a read of ``plate`` may have been misread from, other than
    its own (its Ls as 4s)."""
    own = match_key(plate)
    keys: list[str] = []
    for variant in _swapped(normalize_plate(plate), READ_AS):
        key = match_key(variant)
        if key != own and key not in keys:
            keys.append(key)
    return keys


def misread_texts(text: str) -> list[str]:
    """What a reader may read ``text`` as, other than itself (its 4s as Ls); ``text`` may be
    a search pattern (its ``*`` and ``?`` stay)."""
    return _swapped(text, _MISREAD)


def normalize_plate(text: str) -> str:
    """Uppercase ``text`` and keep only A-Z and 0-9 (``"7ab-c 123"`` -> ``"7ABC123"``)."""
    return _NOT_PLATE.sub("", (text or "").upper())


def match_key(plate: str) -> str:
    """The confusion-folded key of ``plate`` (normalised first); ``""`` for no plate."""
    return normalize_plate(plate).translate(_FOLD)


def folds(plate: str) -> bool:
    """Whether ``plate`` has a character that folding treats as a look-alike of another."""
    return any(c in _FOLDED or c in CONFUSABLE_GROUPS for c in normalize_plate(plate))


def confusable_groups_text() -> str:
    """The groups for people: ``O/Q/D/0, I/L/1, B/8, S/5, Z/2, G/6``."""
    return ", ".join("/".join(group) for group in CONFUSABLE_GROUPS.values())
