"""The reader's networks on ONNX Runtime: the same three networks as ``engine.Engine``
(CRAFT, the plate recognizer, english_g2 for state names), without torch in the process.

Importing torch costs ~650 MB resident before a single weight is loaded, easyocr another
~230 MB; this engine needs numpy, OpenCV and onnxruntime (~125 MB).  The ``.onnx`` files are
exported from the committed weights by ``captures.reading.export`` in a child process (torch
lives only there, and only when the files are missing or their source weights changed), into
``$ALPR_EASYOCR_DIR/onnx-<model>/``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from . import craft_post
from .engine import IMG_H, MODELS_DIR, PLATE_CHARS, PLATE_MODEL, WORD_H, greedy_words, line_batch

log = logging.getLogger(__name__)

FILES = ("craft.onnx", "recognizer.onnx", "words.onnx")
# CRAFT quantised to int8 (``captures.reading.training.quantize``, committed): a third of the
# float32 detector's time on a plate crop.  Used when present (``int8_detector``).
CRAFT_INT8 = MODELS_DIR / "craft_int8.onnx"
ROOT = Path(__file__).resolve().parents[2]


def export_dir(base_dir: Path, model: str) -> Path:
    return Path(base_dir) / f"onnx-{model}"


def _fresh(folder: Path, model: str) -> bool:
    manifest = folder / "manifest.json"
    if not manifest.exists() or not all((folder / f).exists() for f in FILES):
        return False
    try:
        data = json.loads(manifest.read_text())
        recorded, cpu, version = data["sources"], data["cpu"], data.get("version")
    except (ValueError, KeyError):
        return False
    from .export import EXPORT_VERSION, cpu_signature, md5, source_weights

    sources = {k: md5(p) for k, p in source_weights(model).items()}
    return recorded == sources and cpu == cpu_signature() and version == EXPORT_VERSION


def ensure_exported(base_dir: Path, model: str) -> Path:
    """The folder of up-to-date ONNX files for ``model``, exported in a child process if
    missing or stale (the child imports torch; this process does not)."""
    import fcntl

    folder = export_dir(base_dir, model)
    if _fresh(folder, model):
        return folder
    Path(base_dir).mkdir(parents=True, exist_ok=True)
    with (Path(base_dir) / f".onnx-{model}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process exports; the others wait for it
        if not _fresh(folder, model):
            log.info("exporting the %s reader to ONNX in %s", model, folder)
            # Into a folder of its own, then renamed into place: a worker killed while
            # exporting leaves no half-written files behind.
            tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            command = [sys.executable, "-m", "captures.reading.export", str(tmp)]
            command += ["--model", model, "--base-dir", str(base_dir)]
            done = subprocess.run(  # noqa: S603 - our own module, our own interpreter
                command, cwd=ROOT, capture_output=True, text=True, check=False
            )
            if done.returncode:
                shutil.rmtree(tmp, ignore_errors=True)
                raise RuntimeError(f"ONNX export failed: {done.stderr[-2000:]}")
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
    return folder


M_ARENA_MAX = -8


def tune_allocator() -> bool:
    """One malloc arena for the process (glibc's ``mallopt``).

    Each thread that allocates gets an arena of its own by default, and freed activation
    buffers stay mapped in them: measured on the benchmark's photos, the peak falls from
    ~630 MB to ~400 MB.  The buffers that matter are large; one arena costs the threads no
    measurable time."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, 1))
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return False


class OnnxEngine:
    """``engine.Engine``'s interface (``probabilities``, ``words``, ``detect``) on ONNX Runtime."""

    bf16 = False

    def __init__(
        self, *, model: str, base_dir: Path, threads: int, int8_detector: bool = True
    ) -> None:
        import onnxruntime as ort

        tune_allocator()
        if model not in ("plate", "stock"):
            raise ValueError(f"ALPR_OCR_MODEL must be 'plate' or 'stock' (got {model!r})")
        if model == "plate" and not (MODELS_DIR / f"{PLATE_MODEL}.pth").exists():
            log.warning("Plate model weights missing; using the stock recognizer.")
            model = "stock"
        folder = ensure_exported(Path(base_dir), model)
        manifest = json.loads((folder / "manifest.json").read_text())
        self.name = manifest["name"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # The arena keeps buffers between calls (without it every call faults its pages in
        # again: a third slower); after a tall input it is shrunk back (``_shrink``).
        options.enable_cpu_mem_arena = True
        # The files were optimised when exported (``export.optimise``): load them as they are.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        providers = ["CPUExecutionProvider"]

        def session(name: str):
            return ort.InferenceSession(str(folder / name), options, providers=providers)

        self.int8_detector = bool(int8_detector and CRAFT_INT8.exists())
        if self.int8_detector:
            # Quantised graphs are fused (QDQ -> integer kernels) when loaded: all levels.
            int8 = ort.SessionOptions()
            int8.intra_op_num_threads = max(1, threads)
            int8.inter_op_num_threads = 1
            int8.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self.detector = ort.InferenceSession(str(CRAFT_INT8), int8, providers=providers)
        else:
            self.detector = session("craft.onnx")
        self._shrink = ort.RunOptions()
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.recognizer = session("recognizer.onnx")
        self.word_recognizer = session("words.onnx")
        chars = manifest["recognizer_chars"]
        index = {c: i for i, c in enumerate(chars)}
        self.plate_columns = np.array([0] + [index[c] for c in PLATE_CHARS])
        self.all_chars = chars
        self.word_chars = manifest["word_chars"]
        self.word_height = WORD_H
        self.lock = threading.Lock()

    # -- recognizer -----------------------------------------------------
    def _buckets(self, crops: list[np.ndarray]) -> list[list[int]]:
        """Crop indices in groups of similar width at the recognizer's height: a batch is
        padded to its widest line, and the bidirectional LSTMs see the padding, so lines
        are batched only with lines at most 25% wider (most plates' lines are)."""
        widths = [c.shape[1] / max(1, c.shape[0]) for c in crops]
        order = sorted(range(len(crops)), key=lambda i: widths[i])
        groups: list[list[int]] = []
        for i in order:
            if groups and widths[i] <= 1.25 * widths[groups[-1][0]] and len(groups[-1]) < 16:
                groups[-1].append(i)
            else:
                groups.append([i])
        return groups

    def _probs(self, session, crops: list[np.ndarray], height: int = IMG_H):
        """(probabilities, width, batch width) per crop, batched by similar widths."""
        result: list = [None] * len(crops)
        for group in self._buckets(crops):
            batch, widths, max_w = line_batch([crops[i] for i in group], height)
            probs = session.run(None, {"lines": batch})[0]
            for k, i in enumerate(group):
                result[i] = (probs[k], widths[k], max_w)
        return result

    def probabilities(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Per-time-step probabilities over blank + A-Z + 0-9, one array per crop."""
        if not crops:
            return []
        out = []
        for probs, w, max_w in self._probs(self.recognizer, crops):
            steps = max(1, math.ceil(probs.shape[0] * w / max_w))
            p = probs[:steps][:, self.plate_columns]
            p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-9)
            out.append(p)
        return out

    def words(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Greedy text over english_g2's whole character set (for state names)."""
        if not crops:
            return []
        return [
            greedy_words(probs[: max(1, math.ceil(probs.shape[0] * w / max_w))], self.word_chars)
            for probs, w, max_w in self._probs(self.word_recognizer, crops, self.word_height)
        ]

    # -- detector -------------------------------------------------------
    def detect(self, rgb: np.ndarray, **kwargs) -> list[tuple[int, int, int, int]]:
        """CRAFT text boxes as (x0, x1, y0, y1), as ``easyocr.Reader.detect`` finds them."""

        tall = rgb.shape[0] > craft_post.STRIP + 2 * craft_post.PAD  # a photo, not a crop

        def run(x: np.ndarray) -> np.ndarray:
            return self.detector.run(None, {"image": x}, self._shrink if tall else None)[0]

        boxes = craft_post.detect(run, rgb, **kwargs)
        return [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in boxes]

    def detect_many(self, images: list[np.ndarray]) -> list[list[tuple[int, int, int, int]]]:
        """``detect`` for several crops of one height, in one pass of the network."""
        if not images:
            return []

        def run(x: np.ndarray) -> np.ndarray:
            return self.detector.run(None, {"image": x})[0]

        return [
            [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in boxes]
            for boxes in craft_post.detect_many(run, images)
        ]
