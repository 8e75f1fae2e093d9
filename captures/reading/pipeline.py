"""The plate-reading pipeline: main line -> recognizer -> pattern decoding -> state."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from . import ctc
from .engine import Engine
from .lines import Box, choose_main_line
from .patterns import decode_plate
from .result import PlateReading
from .states import match_state

MIN_PLATE_CONFIDENCE = 0.2


def _to_arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    image = ImageOps.exif_transpose(image) if hasattr(image, "getexif") else image
    rgb = np.asarray(image.convert("RGB"))
    gray = np.asarray(image.convert("L"))
    return rgb, gray


class PlateReader:
    """Reads plates from crops and vehicle photos; one instance per process."""

    def __init__(self, *, model: str = "plate", base_dir: Path | str, threads: int = 2) -> None:
        self.engine = Engine(model=model, base_dir=Path(base_dir), threads=threads)
        self.model = self.engine.name

    # -- public ---------------------------------------------------------
    def read_plate_image(self, image: Image.Image) -> PlateReading:
        t0 = time.perf_counter()
        plate, conf, state, sconf = self._read_crop(image)
        return PlateReading(
            plate, conf, state, sconf, None, self.model, (time.perf_counter() - t0) * 1000
        )

    def read_vehicle_image(self, image: Image.Image) -> PlateReading:
        t0 = time.perf_counter()
        from .vehicle import find_and_read

        plate, conf, state, sconf, box = find_and_read(self, image)
        return PlateReading(
            plate, conf, state, sconf, box, self.model, (time.perf_counter() - t0) * 1000
        )

    def read_capture(self, plate_image, vehicle_image=None) -> PlateReading:
        """Read the plate crop; fall back to the vehicle photo when the crop is unreadable."""
        t0 = time.perf_counter()
        first = None
        if plate_image is not None:
            first = self.read_plate_image(plate_image)
            if first.plate:
                return first
        if vehicle_image is not None:
            second = self.read_vehicle_image(vehicle_image)
            if second.plate:
                return PlateReading(
                    second.plate,
                    second.confidence,
                    second.state,
                    second.state_confidence,
                    second.box,
                    self.model,
                    (time.perf_counter() - t0) * 1000,
                )
        if first is not None:
            return PlateReading(
                None,
                None,
                first.state,
                first.state_confidence,
                None,
                self.model,
                (time.perf_counter() - t0) * 1000,
            )
        return PlateReading(
            None, None, None, None, None, self.model, (time.perf_counter() - t0) * 1000
        )

    # -- internals ------------------------------------------------------
    def _read_crop(self, image: Image.Image):
        rgb, gray = _to_arrays(image)
        h, w = gray.shape
        scale = 1.0
        if h < 120:  # CRAFT needs some pixels per character
            scale = 120 / h
            pil = Image.fromarray(rgb).resize((round(w * scale), 120), Image.BICUBIC)
            rgb = np.asarray(pil)
            gray = np.asarray(pil.convert("L"))
            h, w = gray.shape
        boxes = [Box(*b) for b in self.engine.detect(rgb)]
        boxes = [Box(max(0, b.x0), min(w, b.x1), max(0, b.y0), min(h, b.y1)) for b in boxes]
        line, rest = choose_main_line(boxes, h)
        if not line:
            return None, None, None, None
        state, sconf = self._state(gray, rest)
        crops = [gray[b.y0 : b.y1, b.x0 : b.x1] for b in line]
        probs = self.engine.probabilities(crops)
        plate, conf = decode_plate(probs, state)
        if not plate or conf < MIN_PLATE_CONFIDENCE:
            return None, None, state, sconf
        return plate, round(conf, 4), state, sconf

    def _state(self, gray: np.ndarray, rest: list[Box]):
        crops = [gray[b.y0 : b.y1, b.x0 : b.x1] for b in rest if b.h >= 6 and b.w >= 10]
        if not crops:
            return None, None
        texts = [t for t, _c in self.engine.words(crops)]
        return match_state(texts)


__all__ = ["PlateReader", "ctc"]
