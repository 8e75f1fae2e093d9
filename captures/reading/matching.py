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
searches and hotlist matching; exact searches compare the normalised plate.

``look_alike_keys`` gives the keys of the plates a read may have been misread from where a
key cannot fold the two glyphs without folding too much: the reader takes California's
open-top 4 for an L (``READ_AS``), and a key that folded 4 into the I/L/1 group would make
every 4 a 1.  Hotlist matching looks those keys up too (rule ``look_alike``), and a
similar-plates search also asks for the plate with its 4s read as Ls (``misread_texts``).
"""

from __future__ import annotations

# One implementation, in the ground app (the access log's plate filter folds with it too).
from tenants.plates import (
    CONFUSABLE_GROUPS,
    READ_AS,
    look_alike_keys,
    match_key,
    misread_texts,
    normalize_plate,
)

__all__ = [
    "CONFUSABLE_GROUPS",
    "READ_AS",
    "look_alike_keys",
    "match_key",
    "misread_texts",
    "normalize_plate",
]
