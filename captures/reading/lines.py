"""Choosing the plate number's line among the text boxes of a plate crop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    x0: int
    x1: int
    y0: int
    y1: int

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


def v_overlap(a: Box, b: Box) -> float:
    inter = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(0.0, inter) / max(1, min(a.h, b.h))


def choose_main_line(boxes: list[Box], height: int) -> tuple[list[Box], list[Box]]:
    """Split detector boxes into (main line left to right, the rest).

    Boxes are scored by height and closeness to the plate's vertical centre; the
    best box and the boxes of similar height overlapping it vertically form the
    main line (the plate number, maybe split by a separator or an icon).
    """
    boxes = [b for b in boxes if b.h > 2 and b.w > 2]
    if not boxes:
        return [], []
    max_h = max(b.h for b in boxes)

    def score(b: Box) -> float:
        centre = 1.0 - min(1.0, abs(b.cy - height * 0.5) / (height * 0.5))
        return b.h / max_h + 0.6 * centre + 0.1 * min(1.0, b.w / max(1, b.h) / 3)

    best = max(boxes, key=score)
    line = [
        b
        for b in boxes
        if b is best or (v_overlap(b, best) >= 0.5 and 0.6 <= b.h / max(1, best.h) <= 1.6)
    ]
    line.sort(key=lambda b: b.x0)
    rest = [b for b in boxes if b not in line]
    return line, rest


# --- fast main-line finding without the text detector -------------------

NORM_H = 120
# A connected component in the normalised crop: x, y, width, height.
_Component = tuple[int, int, int, int]


@dataclass(frozen=True)
class Band:
    """The plate number's line in a crop, in the crop's pixel coordinates."""

    x0: int
    x1: int
    y0: int
    y1: int
    chars: int  # how many character-like components formed it
    char_h: float
    # Horizontal pieces (x0, x1) split at wide gaps: groups of characters without the
    # separator (dash, icon) between them.
    pieces: tuple[tuple[int, int], ...] = ()


def _components(binary: np.ndarray, H: int, W: int) -> list[_Component]:
    import cv2

    n, _labels, stats, _c = cv2.connectedComponentsWithStats(binary, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if not (0.18 * H <= h <= 0.8 * H):
            continue
        if w > 2.6 * h or w < 0.04 * h and h < 0.3 * H:
            continue
        if area < 0.12 * w * h and w > 3:
            continue
        if y <= 0 and y + h >= H - 1:
            continue
        out.append((x, y, w, h))
    return out


def _best_group(comps: list[_Component], H: int, W: int) -> list[_Component] | None:
    best, best_score = None, 0.0
    for _x, y, _w, h in comps:
        cy = y + h / 2
        group = [
            c for c in comps if 0.75 <= c[3] / h <= 1.33 and abs((c[1] + c[3] / 2) - cy) <= 0.3 * h
        ]
        if len(group) < 2:
            continue
        # drop components far from the others horizontally (stickers, bolts)
        group.sort(key=lambda c: c[0])
        mh = sorted(c[3] for c in group)[len(group) // 2]
        chains, chain = [], [group[0]]
        for c in group[1:]:
            prev = chain[-1]
            if c[0] - (prev[0] + prev[2]) <= 2.2 * mh:
                chain.append(c)
            else:
                chains.append(chain)
                chain = [c]
        chains.append(chain)
        group = max(chains, key=len)
        if len(group) < 2:
            continue
        centre = 1.0 - min(1.0, abs(cy - H * 0.52) / (H * 0.5))
        score = len(group) + 2.0 * centre + 2.0 * mh / H
        if score > best_score:
            best, best_score = group, score
    return best


def find_band(gray: np.ndarray) -> Band | None:
    """Find the number's line from character-sized connected components (a few ms).

    The crop is binarised in both polarities (dark on light and light on dark);
    components of character size are grouped by similar height and vertical
    position, and the largest, most central group wins.
    """
    import cv2

    h0, w0 = gray.shape[:2]
    if h0 < 8 or w0 < 8:
        return None
    scale = NORM_H / h0
    g = cv2.resize(gray, (max(8, round(w0 * scale)), NORM_H), interpolation=cv2.INTER_LINEAR)
    found = _best_polarity(g)
    if found is None:
        return None
    best, best_bin = found
    xs0, xs1, y0, y1, ch = _extent(best)
    xs0, xs1 = _widen_over_ink(best_bin, xs0, xs1, y0, y1, ch)
    inv = 1 / scale
    return Band(
        x0=max(0, int((xs0 - 0.3 * ch) * inv)),
        x1=min(w0, int((xs1 + 0.3 * ch) * inv) + 1),
        y0=max(0, int((y0 - 0.12 * ch) * inv)),
        y1=min(h0, int((y1 + 0.12 * ch) * inv) + 1),
        chars=len(best),
        char_h=ch * inv,
        pieces=_pieces(best, xs0, xs1, ch, inv, w0),
    )


def _best_polarity(g: np.ndarray) -> tuple[list[_Component], np.ndarray] | None:
    """The best character group of the normalised crop and the binary image it came from;
    ``None`` when neither polarity has a group."""
    import cv2

    H, W = g.shape
    block = 2 * (NORM_H // 5) + 1
    best: list[_Component] | None = None
    best_bin = None
    for invert in (True, False):
        src = 255 - g if invert else g
        binary = cv2.adaptiveThreshold(
            src, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, -8
        )
        comps = _components(binary, H, W)
        group = _best_group(comps, H, W)
        # Dark characters on a light plate (the inverted pass) come first and win ties.
        if group and (best is None or len(group) > len(best)):
            best, best_bin = group, binary
    if not best or best_bin is None:
        return None
    return best, best_bin


def _extent(
    group: list[_Component],
) -> tuple[int, int, float, float, float]:
    """(left, right, top, bottom, median character height) of a character group."""
    xs0 = min(c[0] for c in group)
    xs1 = max(c[0] + c[2] for c in group)
    tops = np.array([c[1] for c in group])
    bottoms = np.array([c[1] + c[3] for c in group])
    y0, y1 = float(np.min(tops)), float(np.max(bottoms))
    ch = float(np.median(bottoms - tops))
    return xs0, xs1, y0, y1, ch


def _widen_over_ink(
    binary: np.ndarray, xs0: int, xs1: int, y0: float, y1: float, ch: float
) -> tuple[int, int]:
    """Walk outwards over inked columns of the band (characters the grouping missed:
    touching the frame, merged) until a blank gap or one character height."""
    inner = binary[int(y0 + 0.2 * ch) : int(y1 - 0.2 * ch) + 1]
    if not inner.size:
        return xs0, xs1
    ink = (inner > 0).mean(axis=0) > 0.06
    gap_needed = max(2, int(0.3 * ch))
    limit = int(1.0 * ch)
    left = _walk(ink, xs0, -1, limit=limit, gap_needed=gap_needed)
    right = _walk(ink, xs1 - 1, 1, limit=limit, gap_needed=gap_needed) + 1
    return left, right


def _walk(ink: np.ndarray, start: int, step: int, *, limit: int, gap_needed: int) -> int:
    """The last inked column reached from ``start`` in direction ``step`` before
    ``gap_needed`` blank columns in a row, the image's edge or ``limit`` steps."""
    edge, blank, x = start, 0, start
    for _ in range(limit):
        x += step
        if x < 0 or x >= ink.shape[0]:
            break
        if ink[x]:
            edge, blank = x, 0
        else:
            blank += 1
            if blank >= gap_needed:
                break
    return edge


def _pieces(
    group: list[_Component], xs0: int, xs1: int, ch: float, inv: float, w0: int
) -> tuple[tuple[int, int], ...]:
    """The band's horizontal pieces in crop pixels, split at gaps wider than 0.55
    character heights (between groups of the number: a separator or icon sits there)."""
    comps = sorted(group, key=lambda c: c[0])
    cuts = []
    for a, b in zip(comps, comps[1:], strict=False):
        gap_l, gap_r = a[0] + a[2], b[0]
        if gap_r - gap_l > 0.55 * ch:
            cuts.append((gap_l, gap_r))
    edges: list[float] = [xs0]
    for gl, gr in cuts:
        m = min(0.3 * ch, (gr - gl) / 2)
        edges += [gl + m, gr - m]
    edges.append(xs1)
    pieces = []
    for i in range(0, len(edges), 2):
        start = edges[i] - (0.3 * ch if i == 0 else 0)
        end = edges[i + 1] + (0.3 * ch if i + 2 == len(edges) else 0)
        pieces.append((max(0, int(start * inv)), min(w0, int(end * inv) + 1)))
    return tuple(pieces)
