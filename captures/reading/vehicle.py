"""Finding the plate in a vehicle photo, then reading it as a crop."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from .lines import Box
from .patterns import decode_plate, fits_format

# The text detector sees the photo at most this wide.  Measured on the dev photos (with the
# quick look below): 960 px found the plate in 83 of 99 and read 48 exactly in 1.1 s (median,
# busy machine), 1280 px 82 and 49 in 1.9 s.
MAX_SIDE = 960
# Text boxes given a quick look (the plate recognizer on the box alone, one batch for all:
# a few ms each), and how many of the best-looking are then read in full as crops (line
# finding, state: ~100 ms each).
MAX_CANDIDATES = 12
READ_TOP = 3
MAX_PLATE_CHARS = 8
# A reading's score is its confidence, scaled down for short reads, up when it fits a
# plate format, and down by RANK_PRIOR for each place the candidate stands below the
# best-placed one (the ranking by position and size is itself evidence).
FORMAT_BONUS = 1.3
RANK_PRIOR = 0.1
EDGE_FACTOR = 0.25


def _candidates(reader, rgb: np.ndarray) -> list[Box]:
    h, w = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    small = rgb
    if scale < 1.0:
        small = np.asarray(
            Image.fromarray(rgb).resize(
                (round(w * scale), round(h * scale)), Image.Resampling.BILINEAR
            )
        )
    boxes = [Box(*b) for b in reader.engine.detect(small)]
    out = []
    for b in boxes:
        aspect = b.w / max(1, b.h)
        if b.h < 6 or not (1.2 <= aspect <= 8):
            continue
        out.append(
            Box(
                round(b.x0 / scale),
                round(b.x1 / scale),
                round(b.y0 / scale),
                round(b.y1 / scale),
            )
        )

    # Plates sit in the lower part of the photo, away from its edges (where cameras
    # burn in timestamps), and are wider than tall.
    def rank(b: Box) -> float:
        edge = 1.0 if _at_edge(b, w, h) else 0.0
        return (b.cy / h) * 0.5 + min(1.0, b.h / (h * 0.06)) * 0.5 - edge

    out.sort(key=rank, reverse=True)
    return out[:MAX_CANDIDATES]


def _at_edge(b: Box, w: int, h: int) -> bool:
    """Whether the box touches the photo's border: cameras burn their timestamp and name in
    there, and a plate cut by the border cannot be read whole anyway."""
    return b.y0 <= 0.01 * h or b.y1 >= 0.99 * h or b.x0 <= 0.01 * w or b.x1 >= 0.99 * w


def _plate_region(b: Box, w: int, h: int) -> tuple[int, int, int, int]:
    """The box around a detected text line grown to the whole plate (x, y, w, h)."""
    cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
    pw = max(b.w * 1.35, b.h * 2.2)
    ph = max(b.h * 2.2, pw / 2.2)
    x0 = int(max(0, cx - pw / 2))
    y0 = int(max(0, cy - ph / 2))
    x1 = int(min(w, cx + pw / 2))
    y1 = int(min(h, cy + ph / 2))
    return x0, y0, x1 - x0, y1 - y0


def _prior(rank: int) -> float:
    return max(0.4, 1.0 - RANK_PRIOR * rank)


def _score(plate: str, conf: float, state: str | None, rank: int, *, at_edge: bool) -> float:
    score = conf * min(1.0, len(plate) / 6) * _prior(rank)
    if fits_format(plate, state):
        score *= FORMAT_BONUS
    # A burned-in timestamp reads as confidently as a plate: the border counts against it.
    return score * EDGE_FACTOR if at_edge else score


def _quick_order(reader, gray: np.ndarray, cands: list[Box]) -> list[int]:
    """Candidate indices, the likeliest plate first: each box read by the plate recognizer
    on its own (all in one batch) and scored as a full reading would be."""
    h, w = gray.shape[:2]
    crops = [gray[b.y0 : b.y1, b.x0 : b.x1] for b in cands]
    scores = []
    for rank, probs in enumerate(reader.engine.probabilities(crops)):
        plate, conf = decode_plate([probs], None)
        edge = _at_edge(cands[rank], w, h)
        scores.append(_score(plate, conf, None, rank, at_edge=edge) if plate else 0.0)
    return sorted(range(len(cands)), key=lambda i: (-scores[i], i))


def find_and_read(reader, image: Image.Image):
    image = ImageOps.exif_transpose(image).convert("RGB")
    rgb = np.asarray(image)
    h, w = rgb.shape[:2]
    cands = _candidates(reader, rgb)
    if not cands:
        return None, None, None, None, None
    gray = np.asarray(image.convert("L"))
    best = None
    for rank in _quick_order(reader, gray, cands)[:READ_TOP]:
        cand = cands[rank]
        # No reading of this candidate can beat the best one so far.
        if best is not None and best[0] >= FORMAT_BONUS * _prior(rank):
            continue
        x, y, bw, bh = _plate_region(cand, w, h)
        if bw < 8 or bh < 8:
            continue
        crop = image.crop((x, y, x + bw, y + bh))
        plate, conf, state, sconf = reader._read_crop(crop)
        if not plate or not (4 <= len(plate) <= MAX_PLATE_CHARS):
            continue
        score = _score(plate, conf, state, rank, at_edge=_at_edge(cand, w, h))
        if best is None or score > best[0]:
            best = (score, plate, conf, state, sconf, (x, y, bw, bh))
    if best is None:
        return None, None, None, None, None
    return best[1], best[2], best[3], best[4], best[5]
