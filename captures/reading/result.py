from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlateReading:
    """What was read from one capture."""

    plate: str | None  # normalized A-Z0-9; None when no readable plate
    confidence: float | None  # 0..1: the chance the plate is right (calibration.py)
    state: str | None  # two-letter code (50 states + DC) or None
    state_confidence: float | None
    box: tuple[int, int, int, int] | None  # x, y, w, h in the vehicle image when found there
    model: str  # "plate-v2" or "stock-english_g2"
    ms: float
    raw_confidence: float | None = None  # the recognizer's own score, before calibration
