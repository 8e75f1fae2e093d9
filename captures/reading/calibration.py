"""A read's confidence as the chance that it is right: the recognizer's raw score mapped
through monotone tables fitted on held-out synthetic plates.

The raw score (``patterns.decode_sequence``: the best path's mean per-character
probability) orders reads well but says little about how often they are right: most wrong
reads still score above 0.9.  Whether the read fits one of the plate formats of its state
(or a common US format, ``patterns.fits_format``) says a lot more about the confident
errors: a character dropped or added, a sticker read into the number, the wrong line of
text all give strings no plate is issued with.  So the reads are split into two groups,
``fits`` and ``other``, and each has its own map.

``models/calibration.json`` holds, per group, knots ``(raw, p)`` of an isotonic fit
(pool-adjacent-violators, ``fit_isotonic``) of "read exactly right" on the raw score, over
plates drawn by the one renderer with seeds training never uses and damaged as cameras
damage them (``captures/reading/training/calibrate.py``, ``make calibrate``; never the
benchmark's photos).  Between knots the map is linear; within a group it is non-decreasing
and inside [0, 1] by construction (tested).  The review queue orders by it, the alert and
capture pages show it, and ``settings.ALPR_REVIEW_THRESHOLD`` is chosen on it
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .patterns import fits_format

TABLE = Path(__file__).resolve().parent / "models" / "calibration.json"
GROUPS = ("fits", "other")

Knots = tuple[np.ndarray, np.ndarray]
# One map per group; a single map (a table of the first format, or a test's) serves both.
Table = dict[str, Knots]


def group_of(plate: str | None, state: str | None) -> str:
    """``fits`` when ``plate`` fits a format of ``state`` or a common US one, else ``other``."""
    return "fits" if plate and fits_format(plate, state) else "other"


@lru_cache(maxsize=4)
def load_table(path: Path = TABLE) -> Table | None:
    """The committed knots per group, or None when there is no table (raw scores are
    then kept)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    if "groups" not in data:  # one map for every read
        knots = (np.asarray(data["raw"], dtype=float), np.asarray(data["calibrated"], dtype=float))
        return {g: knots for g in GROUPS}
    return {
        g: (
            np.asarray(data["groups"][g]["raw"], dtype=float),
            np.asarray(data["groups"][g]["calibrated"], dtype=float),
        )
        for g in GROUPS
    }


def calibrate(
    raw: float | None,
    plate: str | None = None,
    state: str | None = None,
    *,
    table: Table | Knots | None = None,
) -> float | None:
    """The chance that the read ``plate`` (of the plate's ``state``, when it was read) with
    raw score ``raw`` is exactly right (None stays None)."""
    if raw is None:
        return None
    knots_by_group = table if table is not None else load_table()
    if knots_by_group is None:
        return float(raw)
    if isinstance(knots_by_group, tuple):
        xs, ys = knots_by_group
    else:
        xs, ys = knots_by_group[group_of(plate, state)]
    value = float(np.interp(min(1.0, max(0.0, float(raw))), xs, ys))
    return round(min(1.0, max(0.0, value)), 4)


def fit_isotonic(
    raw: np.ndarray | list[float], right: np.ndarray | list[bool], *, max_knots: int = 40
) -> tuple[list[float], list[float]]:
    """Knots of the non-decreasing step fit of ``right`` (0/1) on ``raw``
    (pool-adjacent-violators), thinned to at most ``max_knots`` and pinned to 0 and 1.

    The values stay within ``1 / (n + 2)`` of 0 and 1 for ``n`` samples (Laplace's rule of
    succession): a fit on ``n`` reads cannot show that a read is never or always right."""
    x = np.asarray(raw, dtype=float)
    y = np.asarray(right, dtype=float)
    if x.size == 0:
        raise ValueError("no samples to fit")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    # Blocks: [sum of y, count, first x, last x]; merge while a block's mean is below the
    # previous one's.
    blocks: list[list[float]] = []
    for xi, yi in zip(x, y, strict=True):
        if blocks and blocks[-1][3] == xi:  # ties are one point: pool them first
            blocks[-1][0] += yi
            blocks[-1][1] += 1.0
        else:
            blocks.append([yi, 1.0, xi, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, n, _a, b = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
            blocks[-1][3] = b
    # One knot per block at its samples' middle raw score.
    kx = [(b[2] + b[3]) / 2 for b in blocks]
    ky = [b[0] / b[1] for b in blocks]
    if len(kx) > max_knots:  # keep evenly spaced knots (by sample count), and the ends
        counts = np.cumsum([b[1] for b in blocks])
        targets = np.linspace(0, counts[-1], max_knots)
        keep = sorted({int(np.searchsorted(counts, t)) for t in targets} | {0, len(kx) - 1})
        kx = [kx[i] for i in keep]
        ky = [ky[i] for i in keep]
    if kx[0] > 0.0:
        kx.insert(0, 0.0)
        ky.insert(0, ky[0])
    if kx[-1] < 1.0:
        kx.append(1.0)
        ky.append(ky[-1])
    margin = 1.0 / (x.size + 2)
    ky = list(np.maximum.accumulate(np.clip(ky, margin, 1.0 - margin)))
    return [round(float(v), 5) for v in kx], [round(float(v), 5) for v in ky]
