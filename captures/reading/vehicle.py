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
# The plate detector's regions read in full (its best four), the margin they are grown by (a share
# of their width and height on each side), and the score a reading of each needs to be taken
# without running the text detector: 0.7 for the best region (1.3 x confidence for a six-character
# reading that fits a plate format: confidence 0.54 or more), 0.9 for the second and later ones
# (their score already carries the rank's 10% less each; a lower bar took other text on the car).
# Measured on the dev photos (bench_plates.py; the regions' readings scored alone, the detector at
# 640 px): the best region at 0.7 took 46 of 99 photos at ~100-170 ms each, 29 read exactly; with
# the second at 0.9, 51 (33 exact), so the median photo no longer waits for the text detector; the
# second at 0.7 lost two exact reads, and 1.0 for the best region took 23.  End to end, detector
# at 640 / 800 / 960 px: 49 / 48 / 44 exact, plate found in 85 / 85 / 88, median 193 / 239 / 235
# ms (margins 0.1, 0.25); at 800 px with 0.12, 0.3: 49, 86, 315 ms, and at 960 with 0.15, 0.35:
# 46, 90, 242 ms.  The recognizer drops or changes a thin character with the framing: one or two
# reads either way are noise.
# 2026-12-02 (AVX-512 machine, plate_v2 of d20a379): 52 exact, plate found in 86; with the edge
# rule on the detector's regions too (a timestamp it marked at the border) 53; reading by the band
# where CRAFT boxes nothing in a region (far, blurred plates) 53, and the best four regions
# instead of two 53 exact, found in 94 (its first four hold the plate in 77 of 99, its first two
# in 68), the median unchanged (132 ms; the third and fourth are read only when the first two give
# no sure reading).  2026-12-03 (Intel Xeon with AVX-512, look-alike decoding): a region whose
# boxes read too few or too many characters for a plate is read by its band too (a plate in the
# photo's corner, boxed only at its last three characters): 60 -> 61 exact, found 94 -> 95.
DETECTOR_READ = 4
DETECTOR_MARGIN = (0.1, 0.25)
ACCEPT = (0.7, 0.9)
EDGE_FACTOR = 0.25
# How far in from the sides and from the top or bottom a box counts as in a corner.
CORNER = (0.1, 0.04)


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
    """Whether the box touches the photo's border, or stands near a corner: cameras burn
    their timestamp and name in there, and a plate cut by the border cannot be read whole
    anyway."""
    if b.y0 <= 0.01 * h or b.y1 >= 0.99 * h or b.x0 <= 0.01 * w or b.x1 >= 0.99 * w:
        return True
    # Near a corner: a timestamp stands a few pixels in from the border.
    near_top_or_bottom = b.y0 <= CORNER[1] * h or b.y1 >= (1 - CORNER[1]) * h
    near_side = b.x0 <= CORNER[0] * w or b.x1 >= (1 - CORNER[0]) * w
    return near_top_or_bottom and near_side


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


def _detected_regions(reader, gray: np.ndarray) -> list[tuple[tuple[int, int, int, int], bool]]:
    """The plate detector's regions (x, y, w, h), best first, grown by a margin (the reader
    finds the number's line in a crop with some of the car around the plate), each with
    whether it lies at the photo's edge (a burned-in timestamp looks like a plate to the
    detector too)."""
    if reader.plate_detector is None:
        return []
    h, w = gray.shape[:2]
    out = []
    for d in reader.plate_detector.detect(gray, limit=DETECTOR_READ):
        mx, my = d.w * DETECTOR_MARGIN[0], d.h * DETECTOR_MARGIN[1]
        x0, y0 = int(max(0, d.x0 - mx)), int(max(0, d.y0 - my))
        x1, y1 = int(min(w, d.x1 + mx)), int(min(h, d.y1 + my))
        out.append(((x0, y0, x1 - x0, y1 - y0), _at_edge(Box(d.x0, d.x1, d.y0, d.y1), w, h)))
    return out


def _plate_length(plate: str | None) -> bool:
    return plate is not None and 4 <= len(plate) <= MAX_PLATE_CHARS


def _read_region(reader, image: Image.Image, region, rank: int, *, at_edge: bool):
    """(score, plate, confidence, state, state confidence, region) of one region, or None."""
    x, y, bw, bh = region
    if bw < 8 or bh < 8:
        return None
    crop = image.crop((x, y, x + bw, y + bh))
    plate, conf, state, sconf = reader._read_crop(crop)
    if not _plate_length(plate):
        # A far or blurred plate where the text detector boxes nothing, or only part of the
        # number: its characters still stand out as a band (lines.find_band).
        band = reader._read_crop(crop, line_mode="band")
        if _plate_length(band[0]):
            plate, conf, state, sconf = band
    if not _plate_length(plate):
        return None
    return (_score(plate, conf, state, rank, at_edge=at_edge), plate, conf, state, sconf, region)


def find_and_read(reader, image: Image.Image):
    image = ImageOps.exif_transpose(image).convert("RGB")
    rgb = np.asarray(image)
    gray = np.asarray(image.convert("L"))
    h, w = rgb.shape[:2]
    best = None
    # The plate detector first: a reading of one of its regions that fits a plate format
    # with a good confidence is taken as it is (one small network, one or two crops).
    for rank, (region, at_edge) in enumerate(_detected_regions(reader, gray)):
        got = _read_region(reader, image, region, rank, at_edge=at_edge)
        if got is not None and (best is None or got[0] > best[0]):
            best = got
        if best is not None and best[0] >= ACCEPT[min(rank, len(ACCEPT) - 1)]:
            return best[1:]
    # The fallback: the text detector's boxes, the likeliest few read in full.
    cands = _candidates(reader, rgb)
    for rank in _quick_order(reader, gray, cands)[:READ_TOP] if cands else []:
        cand = cands[rank]
        # No reading of this candidate can beat the best one so far.
        if best is not None and best[0] >= FORMAT_BONUS * _prior(rank):
            continue
        got = _read_region(
            reader, image, _plate_region(cand, w, h), rank, at_edge=_at_edge(cand, w, h)
        )
        if got is not None and (best is None or got[0] > best[0]):
            best = got
    if best is None:
        return None, None, None, None, None
    return best[1:]
