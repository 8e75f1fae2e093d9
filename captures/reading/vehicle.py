"""Finding the plate in a vehicle photo, then reading it as a crop."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from .lines import Box
from .patterns import fits_format

MAX_SIDE = 1280
MAX_CANDIDATES = 6
MAX_PLATE_CHARS = 8
# A reading's score is its confidence, scaled down for short reads, up when it fits a
# plate format, and down by RANK_PRIOR for each place the candidate stands below the
# best-placed one (the ranking by position and size is itself evidence).
FORMAT_BONUS = 1.3
RANK_PRIOR = 0.1


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
        edge = b.y0 <= 0.01 * h or b.y1 >= 0.99 * h or b.x0 <= 0.01 * w or b.x1 >= 0.99 * w
        return (b.cy / h) * 0.5 + min(1.0, b.h / (h * 0.06)) * 0.5 - (1.0 if edge else 0.0)

    out.sort(key=rank, reverse=True)
    return out[:MAX_CANDIDATES]


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


def _score(plate: str, conf: float, state: str | None, rank: int) -> float:
    score = conf * min(1.0, len(plate) / 6) * (1.0 - RANK_PRIOR * rank)
    return score * FORMAT_BONUS if fits_format(plate, state) else score


def find_and_read(reader, image: Image.Image):
    image = ImageOps.exif_transpose(image).convert("RGB")
    rgb = np.asarray(image)
    h, w = rgb.shape[:2]
    best = None
    for rank, cand in enumerate(_candidates(reader, rgb)):
        # No reading of this or a lower-placed candidate can beat the best one so far.
        if best is not None and best[0] >= FORMAT_BONUS * (1.0 - RANK_PRIOR * rank):
            break
        x, y, bw, bh = _plate_region(cand, w, h)
        if bw < 8 or bh < 8:
            continue
        crop = image.crop((x, y, x + bw, y + bh))
        plate, conf, state, sconf = reader._read_crop(crop)
        if not plate or not (4 <= len(plate) <= MAX_PLATE_CHARS):
            continue
        score = _score(plate, conf, state, rank)
        if best is None or score > best[0]:
            best = (score, plate, conf, state, sconf, (x, y, bw, bh))
    if best is None:
        return None, None, None, None, None
    return best[1], best[2], best[3], best[4], best[5]
