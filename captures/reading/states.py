"""The issuing state from the text printed on a plate (state names, a few slogans).

``match_state(texts)`` takes the words read outside the plate number (the state
name above, slogans below) and fuzzy-matches them against the 50 state names and
DC, tolerating OCR noise and names cut off at the crop's edge.  Returns a
two-letter code with a confidence, or ``(None, None)`` when nothing fits well.
"""

from __future__ import annotations

import re

STATES: dict[str, str] = {
    "AL": "ALABAMA", "AK": "ALASKA", "AZ": "ARIZONA", "AR": "ARKANSAS",
    "CA": "CALIFORNIA", "CO": "COLORADO", "CT": "CONNECTICUT", "DE": "DELAWARE",
    "DC": "DISTRICT OF COLUMBIA", "FL": "FLORIDA", "GA": "GEORGIA", "HI": "HAWAII",
    "ID": "IDAHO", "IL": "ILLINOIS", "IN": "INDIANA", "IA": "IOWA", "KS": "KANSAS",
    "KY": "KENTUCKY", "LA": "LOUISIANA", "ME": "MAINE", "MD": "MARYLAND",
    "MA": "MASSACHUSETTS", "MI": "MICHIGAN", "MN": "MINNESOTA", "MS": "MISSISSIPPI",
    "MO": "MISSOURI", "MT": "MONTANA", "NE": "NEBRASKA", "NV": "NEVADA",
    "NH": "NEW HAMPSHIRE", "NJ": "NEW JERSEY", "NM": "NEW MEXICO", "NY": "NEW YORK",
    "NC": "NORTH CAROLINA", "ND": "NORTH DAKOTA", "OH": "OHIO", "OK": "OKLAHOMA",
    "OR": "OREGON", "PA": "PENNSYLVANIA", "RI": "RHODE ISLAND", "SC": "SOUTH CAROLINA",
    "SD": "SOUTH DAKOTA", "TN": "TENNESSEE", "TX": "TEXAS", "UT": "UTAH",
    "VT": "VERMONT", "VA": "VIRGINIA", "WA": "WASHINGTON", "WV": "WEST VIRGINIA",
    "WI": "WISCONSIN", "WY": "WYOMING",
}  # fmt: skip

# Well-known words printed on plates besides the name (public, not per image).
EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "DC": ("WASHINGTON DC", "TAXATION WITHOUT REPRESENTATION", "DC"),
    "CA": ("DMV.CA.GOV",),
    "IL": ("LAND OF LINCOLN",),
    "NC": ("FIRST IN FLIGHT",),
    "NH": ("LIVE FREE OR DIE",),
    "FL": ("SUNSHINE STATE",),
    "NJ": ("GARDEN STATE",),
    "ME": ("VACATIONLAND",),
    "HI": ("ALOHA STATE",),
    "ID": ("FAMOUS POTATOES",),
    "NM": ("LAND OF ENCHANTMENT",),
    "WI": ("DAIRYLAND",),
    "LA": ("SPORTSMANS PARADISE",),
    "MN": ("LAKES",),
    "MO": ("SHOW ME STATE",),
    "AZ": ("GRAND CANYON STATE",),
    "TX": ("LONE STAR STATE",),
    "RI": ("OCEAN STATE",),
    "DE": ("THE FIRST STATE",),
    "CT": ("CONSTITUTION STATE",),
    "AK": ("NORTH TO THE FUTURE", "LAST FRONTIER"),
    "ND": ("PEACE GARDEN STATE",),
    "SD": ("GREAT FACES GREAT PLACES",),
    "MT": ("TREASURE STATE", "BIG SKY"),
    "OH": ("BIRTHPLACE OF AVIATION",),
    "IN": ("CROSSROADS OF AMERICA",),
    "KY": ("BLUEGRASS STATE", "UNBRIDLED SPIRIT"),
    "WV": ("WILD WONDERFUL",),
    "VT": ("GREEN MOUNTAIN STATE",),
    "UT": ("GREATEST SNOW ON EARTH",),
    "PA": ("KEYSTONE STATE", "VISITPA.COM"),
    "GA": ("PEACH STATE",),
    "AR": ("THE NATURAL STATE",),
    "AL": ("HEART OF DIXIE", "SWEET HOME ALABAMA"),
    "TN": ("VOLUNTEER STATE",),
    "SC": ("WHILE I BREATHE I HOPE",),
    "NY": ("EMPIRE STATE",),
    "MS": ("MAGNOLIA STATE",),
}

MIN_SCORE = 0.72
# An H whose crossbar is lost reads as two strokes, TI or II (IDAHO read as "IDATIO"): each
# word is also matched with them joined.
_SPLIT_H = re.compile(r"TI|II")
# A word whose whole-name similarity to a state's name reaches this is taken as that name.
NAMED = 0.9
_NON_ALPHA = re.compile(r"[^A-Z]")


def _targets() -> list[tuple[str, str, bool]]:
    out = []
    for code, name in STATES.items():
        out.append((code, _NON_ALPHA.sub("", name), True))
    for code, names in EXTRA_NAMES.items():
        for n in names:
            n = _NON_ALPHA.sub("", n)
            if len(n) >= 4:
                out.append((code, n, False))
    return out


_TARGETS = _targets()
# For each state, the states whose name holds its name (KS: AR; VA: WV).
_CONTAINING = {
    code: tuple(other for other, long in STATES.items() if other != code and name in long)
    for code, name in STATES.items()
}
WHOLE_LONGER = 0.85  # how nearly whole the longer name must be read to win
FRAGMENT = 0.75  # the score of three right letters of a four-letter name


# Letters the word recognizer mixes up in the script and small-letter faces state names are
# printed in (the cursive "California": l/b/h/k, f/t, i/r/l, n/m/u, o/a/e/c; and M/W), written in
# capitals as the texts are compared: substituting one for another within a group costs
# half an edit.
CONFUSABLE = ("LBHKTFI", "ILJRT", "NMRUH", "OAECDQGP", "UVWY", "MW")
CONFUSABLE_FROM = 7
_HALF = {(a, b) for group in CONFUSABLE for a in group for b in group if a != b}


def _cost(a: str, b: str, confusable: bool) -> float:
    if a == b:
        return 0.0
    return 0.5 if confusable and (a, b) in _HALF else 1.0


def _prefix_distances(needle: str, hay: str, confusable: bool = False) -> list[float]:
    """For each prefix of ``needle``: its edit distance to the best substring of ``hay``."""
    prev: list[float] = [0.0] * (len(hay) + 1)  # free start in hay
    out: list[float] = [0.0]
    for i, a in enumerate(needle, 1):
        cur: list[float] = [float(i)]
        for j, b in enumerate(hay, 1):
            d = prev[j - 1] + _cost(a, b, confusable)
            if prev[j] + 1 < d:
                d = prev[j] + 1
            if cur[j - 1] + 1 < d:
                d = cur[j - 1] + 1
            cur.append(d)
        prev = cur
        out.append(min(prev))  # free end in hay
    return out


def _similarity(name: str, text: str, *, confusable: bool = False, partial: bool = True) -> float:
    """1.0 when ``name`` appears in ``text``; partial names (cut at an edge) score less
    (``partial=False``: whole names only).  ``confusable``: letters of one ``CONFUSABLE``
    group count half an edit for each other."""
    return _similarities(name, text, confusable=confusable, partial=partial)[1]


def _similarities(
    name: str, text: str, *, confusable: bool = False, partial: bool = True
) -> tuple[float, float]:
    """(the whole name's similarity, ``_similarity``) from one pass over ``text``."""
    n = len(name)
    forward = _prefix_distances(name, text, confusable)
    whole = best = 1.0 - forward[n] / n
    if partial and n >= 6 and len(text) < n:
        # A name cut off at the crop's edge: its prefix or suffix, covering >= 60%.
        backward = _prefix_distances(name[::-1], text[::-1], confusable)
        # The piece left is most of the name, and most of the word: a word two letters or
        # more longer than the piece is some other word that shares letters with it.
        for cut in range(max(4, int(n * 0.6), len(text) - 1), n):
            d = min(forward[cut], backward[cut])
            best = max(best, (1.0 - d / cut) * (0.85 + 0.15 * cut / n))
    return whole, best


def _words(texts: list[str]) -> list[str]:
    """The texts in capitals without what is not a letter, those of three letters or more,
    and each with a split H joined again."""
    cleaned = [_NON_ALPHA.sub("", t.upper()) for t in texts]
    cleaned = [t for t in cleaned if len(t) >= 3]
    return cleaned + [v for t in cleaned if (v := _SPLIT_H.sub("H", t)) != t]


def _scores(words: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """(each state's best score over the words, its best whole-name similarity)."""
    scores: dict[str, float] = {}
    whole: dict[str, float] = {}
    # Words that spell a state's whole name nearly right, and the name: a slogan is not
    # matched on them by a piece of it (Wisconsin's DAIRYLAND ends as MARYLAND does), unless
    # the slogan holds that name (WASHINGTON DC).  ``_TARGETS`` lists the names before the
    # slogans, so every name has been compared with a word before any slogan is.
    named: dict[str, str] = {}
    for code, name, is_name in _TARGETS:
        if not is_name and len(name) <= 3:
            continue
        letters = set(name)
        for text in words:
            if len(letters & set(text)) < 0.5 * len(letters) or len(text) > 3 * len(name) + 6:
                continue
            if len(text) < min(4, len(name)) and text != name:
                # Three letters of a four-letter name, spelt right (IOW, OWA: the rest hidden
                # by a frame or a bolt) name it, weakly; anything less like it does not.
                if is_name and len(name) == 4 and len(text) == 3 and text in name:
                    scores[code] = max(scores.get(code, -1), FRAGMENT)
                continue
            # Long names only: a short one would match too many misread words that way.
            confusable = is_name and len(name) >= CONFUSABLE_FROM
            partial = is_name or text not in named or named[text] in name
            whole_s, s = _similarities(name, text, confusable=confusable, partial=partial)
            if is_name:
                whole[code] = max(whole.get(code, 0.0), whole_s)
                if whole_s >= NAMED:
                    named[text] = name
            if not is_name and len(name) < 7:
                s -= 0.05  # short slogans match by chance more easily
            # Prefer the longer name when both fit fully (WEST VIRGINIA over VIRGINIA).
            s += 0.002 * len(name)
            if s > scores.get(code, -1):
                scores[code] = s
    return scores, whole


def match_state(texts: list[str]) -> tuple[str | None, float | None]:
    """Best state for the words ``texts`` read on a plate, or ``(None, None)``."""
    scores, whole = _scores(_words(texts))
    if not scores:
        return None, None
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    code, score = ranked[0]
    if score < MIN_SCORE:
        return None, None
    # A name inside a longer one (KANSAS in ARKANSAS, VIRGINIA in WEST VIRGINIA) matches
    # whatever the longer one is printed as: the longer one, read nearly whole, wins.
    for longer in _CONTAINING.get(code, ()):
        if whole.get(longer, 0.0) >= WHOLE_LONGER:
            ranked = [(longer, scores[longer])] + [kv for kv in ranked if kv[0] != longer]
            code, score = ranked[0]
            break
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = max(0.0, min(1.0, score)) * (1.0 if score - runner > 0.1 else 0.8)
    return code, round(confidence, 3)
