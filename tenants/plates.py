"""Plate text normalisation and confusion-tolerant match keys (the one implementation).

``normalize_plate`` keeps what a plate number is made of: uppercase A-Z and 0-9.
``match_key`` folds characters that plate readers (and people) confuse into one
representative. ``captures.reading.matching`` documents the groups and is where the
capture code imports them from; they live here, in the ground app, so that the access log's
"who looked at this plate?" filter (``audit``, a floor below ``captures``) folds plates
exactly as the searches and hotlists do. ``FOLD_FROM``/``FOLD_TO`` are the same table for
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
