"""The plate detector: a small fully convolutional network that marks plate faces in a photo.

It sees the photo in grey with its long side at ``SIDE`` px (padded to a multiple of 32) and
gives, every ``STRIDE`` px, the probability that the point lies on a plate's face; the
connected regions above ``THRESHOLD`` are the candidate plates, best first. Trained on
rendered scenes only (``captures.reading.training.detector``, ``make train-detector``) and
run on ONNX Runtime from the committed ``models/plate_detector.onnx`` (no torch here).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from .engine import MODELS_DIR

WEIGHTS = MODELS_DIR / "plate_detector.onnx"
# The photo's long side as the network sees it.  Its best region holds the dev photos' plate
# in 50 / 55 / 55 / 60 / 53 / 33 of 99 at 512 / 640 / 800 / 960 / 1120 / 1280 px (it was
# trained on plates 16-180 px wide), in ~50 ms at 800 on two threads.
SIDE = 800
STRIDE = 4
MULTIPLE = 32
THRESHOLD = 0.4
MIN_CELLS = 3


@dataclass(frozen=True)
class Detection:
    x0: int
    y0: int
    x1: int
    y1: int
    score: float  # the region's highest probability

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0


def prepare(gray: np.ndarray, side: int = SIDE) -> tuple[np.ndarray, float]:
    """The network's input (1, 1, H, W) float32 in 0-255 and the scale applied to the photo."""
    h, w = gray.shape[:2]
    scale = side / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(
        Image.fromarray(gray).resize((nw, nh), Image.Resampling.BILINEAR), dtype=np.float32
    )
    ph, pw = -(-nh // MULTIPLE) * MULTIPLE, -(-nw // MULTIPLE) * MULTIPLE
    x = np.full((1, 1, ph, pw), float(np.median(small)), dtype=np.float32)
    x[0, 0, :nh, :nw] = small
    return x, scale


def regions(
    prob: np.ndarray, *, threshold: float = THRESHOLD, min_cells: int = MIN_CELLS
) -> list[tuple[int, int, int, int, float]]:
    """Connected regions of ``prob`` (H, W) above ``threshold`` as (x0, y0, x1, y1, peak) in
    cells, highest peak first."""
    import cv2

    mask = (prob >= threshold).astype(np.uint8)
    n, labels, stats, _centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for i in range(1, n):  # 0 is the background
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < min_cells:
            continue
        peak = float(prob[y : y + h, x : x + w][labels[y : y + h, x : x + w] == i].max())
        out.append((x, y, x + w, y + h, peak))
    out.sort(key=lambda r: -r[4])
    return out


class PlateDetector:
    def __init__(self, path: Path = WEIGHTS, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.lock = threading.Lock()

    def probabilities(self, gray: np.ndarray) -> tuple[np.ndarray, float]:
        x, scale = prepare(gray)
        with self.lock:
            logits = self.session.run(None, {"image": x})[0][0, 0]
        return 1.0 / (1.0 + np.exp(-logits)), scale

    def detect(self, gray: np.ndarray, limit: int = 4) -> list[Detection]:
        """Candidate plates in a grey photo (H, W uint8), in its own pixels, best first."""
        h, w = gray.shape[:2]
        prob, scale = self.probabilities(gray)
        k = STRIDE / scale
        out = []
        for x0, y0, x1, y1, peak in regions(prob)[:limit]:
            out.append(
                Detection(
                    max(0, int(x0 * k)),
                    max(0, int(y0 * k)),
                    min(w, int(round(x1 * k))),
                    min(h, int(round(y1 * k))),
                    peak,
                )
            )
        return out


@lru_cache(maxsize=4)
def detector(threads: int = 1) -> PlateDetector | None:
    """The committed detector (one per process and thread count), or None without its file."""
    if not WEIGHTS.exists():
        return None
    return PlateDetector(threads=threads)
