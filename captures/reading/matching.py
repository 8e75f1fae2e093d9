"""Plate text normalisation and confusion-tolerant match keys.

``normalize_plate`` keeps what a plate number is made of: uppercase A-Z and 0-9
(spaces, dashes, dots and icons printed on plates are not part of the number).

``match_key`` folds characters that plate readers (and people) confuse into one
representative, so that a read of ``7A8C123`` and a search for ``7ABC123`` share a
key.  The folded groups are:

========  ==========================
key char  characters folded into it
========  ==========================
``0``     ``O`` ``0`` ``Q`` ``D``
``1``     ``I`` ``1`` ``L``
``8``     ``B`` ``8``
``5``     ``S`` ``5``
``2``     ``Z`` ``2``
``6``     ``G`` ``6``
========  ==========================

Every other character stays itself.  The key is only used for "similar plates"
searches; exact searches compare the normalised plate.
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
_FOLD = str.maketrans({c: key for key, group in CONFUSABLE_GROUPS.items() for c in group})


def normalize_plate(text: str) -> str:
    """Uppercase ``text`` and keep only A-Z and 0-9 (``"7ab-c 123"`` -> ``"7ABC123"``)."""
    return _NOT_PLATE.sub("", (text or "").upper())


def match_key(plate: str) -> str:
    """The confusion-folded key of ``plate`` (normalised first); ``""`` for no plate."""
    return normalize_plate(plate).translate(_FOLD)
