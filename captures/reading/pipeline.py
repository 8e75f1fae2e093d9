"""The plate-reading pipeline: main line -> recognizer -> pattern decoding -> state."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from . import ctc
from .batching import ReadBatcher
from .calibration import calibrate
from .engine import Engine
from .framing import framed
from .lines import Band, Box, choose_main_line, find_band, v_overlap
from .onnx_engine import OnnxEngine
from .patterns import decode_plate
from .result import PlateReading
from .states import match_state

MIN_PLATE_CONFIDENCE = 0.2
# A state read from the row above the number with at least this confidence is taken
# without reading the plate's other text.
EARLY_STATE_CONFIDENCE = 0.85


def _to_arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, grey) of a crop with its brightness stretched to the full range, one mapping
    for the three channels: a plate in deep shade or in glare reaches the detector and the
    recognizers with the contrast they were trained on, and a crop that spans the range
    already is left as it is.  Measured on the dev images (bench_plates.py): crops 304 -> 307
    of 356 exact; vehicle photos, whose plate regions come here as crops, 50 -> 55 of 99."""
    image = ImageOps.exif_transpose(image) if hasattr(image, "getexif") else image
    image = ImageOps.autocontrast(image.convert("RGB"), preserve_tone=True)
    rgb = np.asarray(image)
    gray = np.asarray(image.convert("L"))
    return rgb, gray


class PlateReader:
    """Reads plates from crops and vehicle photos; one instance per process."""

    def __init__(
        self,
        *,
        model: str = "plate",
        base_dir: Path | str,
        threads: int = 2,
        line_mode: str = "detector",
        detect_height: int = 96,
        runtime: str = "onnx",
        bf16: bool | None = None,
        max_batch: int = 8,
        plate_detector: bool = True,
    ) -> None:
        # "onnx": the networks on ONNX Runtime, no torch in the process (~0.3 GB resident
        # instead of ~1.2 GB); "torch": easyocr's own modules (bfloat16 detector where the
        # CPU has it, unless ``bf16=False``).
        self.engine: Engine | OnnxEngine
        if runtime == "onnx":
            self.engine = OnnxEngine(model=model, base_dir=Path(base_dir), threads=threads)
        elif runtime == "torch":
            self.engine = Engine(model=model, base_dir=Path(base_dir), threads=threads, bf16=bf16)
        else:
            raise ValueError(f"ALPR_OCR_RUNTIME must be 'onnx' or 'torch' (got {runtime!r})")
        self.runtime = runtime
        self.model = self.engine.name
        # Vehicle photos: the plate detector (models/plate_detector.onnx) proposes the plate
        # first; the text detector's boxes are the fallback (vehicle.py).  None: text only.
        self.plate_detector = None
        if plate_detector:
            from .plate_detector import detector

            self.plate_detector = detector(threads)
        # "detector": the text detector on a downscaled copy (default, most accurate);
        # "auto": connected-component line finder first, the detector as fallback;
        # "band": the connected-component line finder only (fastest).
        self.line_mode = line_mode
        self.detect_height = detect_height
        # Crops that tasks running side by side ask for are read in one pass (batching.py).
        self.batcher = ReadBatcher(self.read_plate_images, max_batch=max_batch)

    # -- public ---------------------------------------------------------
    def read_plate_image(self, image: Image.Image) -> PlateReading:
        t0 = time.perf_counter()
        plate, conf, state, sconf = self._read_crop(image)
        ms = (time.perf_counter() - t0) * 1000
        return PlateReading(
            plate, calibrate(conf, plate, state), state, sconf, None, self.model, ms, conf
        )

    def read_plate_images(self, images: list[Image.Image]) -> list[PlateReading]:
        """``read_plate_image`` for several crops at once: one detector pass over all of
        them, one recognizer pass per group of similar lines.  Each reading's ``ms`` is the
        batch's time shared out equally."""
        if not images:
            return []
        if self.line_mode != "detector" or len(images) == 1:
            return [self.read_plate_image(image) for image in images]
        t0 = time.perf_counter()
        arrays = [_to_arrays(image) for image in images]
        prepared = [self._small(rgb) for rgb, _gray in arrays]
        found = self.engine.detect_many([small for small, _scale in prepared])
        lines: list[list[Box]] = []
        rests: list[list[Box]] = []
        for (_rgb, gray), (_small, scale), boxes in zip(arrays, prepared, found, strict=True):
            line, rest = choose_main_line(self._full_size(boxes, scale, gray.shape), gray.shape[0])
            lines.append(line)
            rests.append(rest)
        grays = [gray for _rgb, gray in arrays]
        states = self._states_many(grays, rests, lines)
        read = self._read_lines(grays, lines, [state for state, _sconf in states])
        ms = (time.perf_counter() - t0) * 1000 / len(images)
        out = []
        for line, (plate, conf), (state, sconf) in zip(lines, read, states, strict=True):
            if not plate or conf < MIN_PLATE_CONFIDENCE:
                if not line:
                    state, sconf = None, None
                out.append(PlateReading(None, None, state, sconf, None, self.model, ms))
            else:
                raw = round(conf, 4)
                out.append(
                    PlateReading(
                        plate,
                        calibrate(raw, plate, state),
                        state,
                        sconf,
                        None,
                        self.model,
                        ms,
                        raw,
                    )
                )
        return out

    def read_vehicle_image(self, image: Image.Image) -> PlateReading:
        t0 = time.perf_counter()
        from .vehicle import find_and_read

        plate, conf, state, sconf, box = find_and_read(self, image)
        ms = (time.perf_counter() - t0) * 1000
        return PlateReading(
            plate, calibrate(conf, plate, state), state, sconf, box, self.model, ms, conf
        )

    def read_capture(self, plate_image, vehicle_image=None) -> PlateReading:
        """Read the plate crop; fall back to the vehicle photo when the crop is unreadable."""
        t0 = time.perf_counter()
        first = None
        if plate_image is not None:
            first = self.batcher.read(plate_image)
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
                    second.raw_confidence,
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
    def _read_crop(self, image: Image.Image, *, line_mode: str | None = None):
        """(plate, confidence, state, state confidence) of a plate crop."""
        rgb, gray = _to_arrays(image)
        mode = line_mode or self.line_mode
        if mode in ("band", "auto"):
            band = find_band(gray)
            if band is not None and band.chars >= 3:
                return self._read_band(gray, band)
            if mode == "band":
                return None, None, None, None
        return self._read_detected(rgb, gray)

    def _read_band(self, gray: np.ndarray, band: Band):
        pieces = band.pieces or ((band.x0, band.x1),)
        state, sconf = self._state_beside(gray, band)
        boxes = [Box(a, b, band.y0, band.y1) for a, b in pieces if b - a >= 4]
        ((plate, conf),) = self._read_lines([gray], [boxes], [state])
        if not plate or conf < MIN_PLATE_CONFIDENCE:
            return None, None, state, sconf
        return plate, round(conf, 4), state, sconf

    def _state_beside(self, gray: np.ndarray, band: Band):
        """The state from the strips above and below the number's band."""
        h, w = gray.shape[:2]
        pad = int(band.char_h * 0.05)
        state, sconf = None, None
        # The state name is usually above the number, sometimes below it.
        # Corners hold stickers and months; the name is centred.
        x0, x1 = int(w * 0.08), int(w * 0.92)
        if band.y0 - pad >= max(6, 0.1 * h):
            state, sconf = self._state_from_crops([gray[: band.y0 - pad, x0:x1]])
        if state is None and h - band.y1 - pad >= max(6, 0.08 * h):
            state, sconf = self._state_from_crops([gray[band.y1 + pad :, x0:x1]])
        return state, sconf

    def _state_when_merged(self, gray: np.ndarray, line: list[Box], rest: list[Box]):
        """The state of a crop whose text detector found no other text than the number's
        line: on a small plate it draws the state's name and the number as one box.  The
        number's band is found by its characters instead (``lines.find_band``) and the
        strips above and below it are read."""
        if rest or len(line) != 1:
            return None, None
        band = find_band(gray)
        if band is None or band.chars < 3:
            return None, None
        return self._state_beside(gray, band)

    def _small(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """The copy the text detector runs on, ``detect_height`` pixels tall, and its scale:
        a plate crop needs no more to find its lines, and the detector's cost grows with
        the pixels.  96 is a multiple of 32, the size CRAFT pads its input to."""
        h, w = rgb.shape[:2]
        target = self.detect_height or max(h, 120)
        scale = target / h
        small = np.asarray(
            Image.fromarray(rgb).resize(
                (max(16, round(w * scale)), target), Image.Resampling.BILINEAR
            )
        )
        return small, scale

    @staticmethod
    def _full_size(boxes, scale: float, shape: tuple[int, ...]) -> list[Box]:
        h, w = shape[:2]
        return [
            Box(
                max(0, int(x0 / scale)),
                min(w, int(np.ceil(x1 / scale))),
                max(0, int(y0 / scale)),
                min(h, int(np.ceil(y1 / scale))),
            )
            for x0, x1, y0, y1 in boxes
        ]

    def _read_detected(self, rgb: np.ndarray, gray: np.ndarray):
        h = gray.shape[0]
        small, scale = self._small(rgb)
        boxes = self._full_size(self.engine.detect(small), scale, gray.shape)
        line, rest = choose_main_line(boxes, h)
        if not line:
            return None, None, None, None
        ((state, sconf),) = self._states_many([gray], [rest], [line])
        ((plate, conf),) = self._read_lines([gray], [line], [state])
        if not plate or conf < MIN_PLATE_CONFIDENCE:
            return None, None, state, sconf
        return plate, round(conf, 4), state, sconf

    def _read_lines(self, grays, lines, states) -> list[tuple[str | None, float]]:
        """(plate, confidence) of each crop's number line (its boxes framed as the
        recognizer reads them best, framing.py), all lines in one recognizer pass."""
        crops = [[framed(g, b) for b in line] for g, line in zip(grays, lines, strict=True)]
        flat = self.engine.probabilities([c for group in crops for c in group])
        out: list[tuple[str | None, float]] = []
        at = 0
        for group, state in zip(crops, states, strict=True):
            probs, at = flat[at : at + len(group)], at + len(group)
            out.append(decode_plate(probs, state))  # no boxes: (None, 0.0)
        return out

    def _state_boxes(self, rest: list[Box], line: list[Box]) -> tuple[list[Box], list[Box]]:
        """(the row of text above the number, the plate's other boxes)."""
        boxes = [b for b in rest if b.h >= 6 and b.w >= 10]
        top = min(b.y0 for b in line)
        above = [b for b in boxes if b.cy < top]
        first: list[Box] = []
        if above:
            name = max(above, key=lambda b: b.h * min(b.w, 6 * b.h))
            first = [b for b in above if v_overlap(b, name) >= 0.5]
        return first, [b for b in boxes if b not in first]

    def _states_many(self, grays, rests, lines):
        """The state of each crop from the other text on its plate, each phase's words read
        in one batch.

        The row of text above the number (where most states print their name) is read
        first; only when it does not name a state clearly are the other boxes read too
        (each read costs ~20-30 ms: the words are wide at the recognizer's height), and
        when they name none either, the strips beside the number (``_state_when_merged``).
        """
        result: list = [(None, None)] * len(grays)
        plan = [
            self._state_boxes(rest, line) if line else ([], [])
            for rest, line in zip(rests, lines, strict=True)
        ]
        firsts = self._words_many(grays, [first for first, _ in plan])
        second = []
        for i, (texts, (first, _others)) in enumerate(zip(firsts, plan, strict=True)):
            if not lines[i]:
                continue
            if first:
                state, sconf = match_state(texts)
                if state is not None and sconf is not None and sconf >= EARLY_STATE_CONFIDENCE:
                    result[i] = (state, sconf)
                    continue
            second.append(i)
        others = self._words_many([grays[i] for i in second], [plan[i][1] for i in second])
        for i, texts in zip(second, others, strict=True):
            result[i] = match_state(firsts[i] + texts)
            if result[i][0] is None:
                result[i] = self._state_when_merged(grays[i], lines[i], rests[i])
        return result

    def _words_many(self, grays, box_lists) -> list[list[str]]:
        crops, owners = [], []
        for k, (gray, boxes) in enumerate(zip(grays, box_lists, strict=True)):
            for b in boxes:
                c = gray[b.y0 : b.y1, b.x0 : b.x1]
                if c.shape[0] >= 4 and c.shape[1] >= 8:
                    crops.append(c)
                    owners.append(k)
        texts: list[list[str]] = [[] for _ in grays]
        for k, (t, _c) in zip(owners, self.engine.words(crops), strict=True):
            texts[k].append(t)
        return texts

    def _texts(self, crops: list[np.ndarray]) -> list[str]:
        crops = [c for c in crops if c.shape[0] >= 4 and c.shape[1] >= 8]
        return [t for t, _c in self.engine.words(crops)]

    def _state_from_crops(self, crops: list[np.ndarray]):
        return match_state(self._texts(crops))


__all__ = ["PlateReader", "ctc"]
