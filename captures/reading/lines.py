"""Choosing the plate number's line among the text boxes of a plate crop."""

from __future__ import annotations

from dataclasses import dataclass


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


def _v_overlap(a: Box, b: Box) -> float:
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
        if b is best or (_v_overlap(b, best) >= 0.5 and 0.6 <= b.h / max(1, best.h) <= 1.6)
    ]
    line.sort(key=lambda b: b.x0)
    rest = [b for b in boxes if b not in line]
    return line, rest
