"""Fine-tune easyocr's english_g2 recognizer on synthetic plate lines (CTC, CPU).

Reproducible: sample ``i`` of the run is rendered from ``random.Random(seed * 10**7 + i)``,
so the data do not depend on the number of loader workers; torch is seeded too.
Run it with ``python manage.py train_plate_reader`` or ``python -m captures.reading.training``
(``make train`` installs the fonts first); the options are in ``add_arguments``.
"""

from __future__ import annotations

import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from captures.reading.engine import IMG_H, MODELS_DIR, PLATE_MODEL
from captures.synthetic.plates import FONT_PACKAGES, missing_fonts

from .samples import training_sample

MAX_W = 320


def _charset() -> str:
    from easyocr.config import recognition_models

    return recognition_models["gen2"]["english_g2"]["characters"]


class SyntheticLines(torch.utils.data.Dataset):
    def __init__(self, seed: int, length: int, open_four: float = 0.0) -> None:
        self.seed = seed
        self.length = length
        self.open_four = open_four
        self.index = {c: i + 1 for i, c in enumerate(_charset())}

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        rng = random.Random(self.seed * 10**7 + i)
        crop, label = training_sample(rng, open_four=self.open_four)
        w, h = crop.size
        new_w = min(MAX_W, max(8, math.ceil(IMG_H * w / max(1, h))))
        arr = np.asarray(crop.resize((new_w, IMG_H), Image.Resampling.BICUBIC), dtype=np.float32)
        arr = (arr / 255.0 - 0.5) / 0.5
        return arr, [self.index[c] for c in label], label


def collate(batch):
    max_w = max(a.shape[1] for a, _, _ in batch)
    images = np.zeros((len(batch), 1, IMG_H, max_w), dtype=np.float32)
    widths = []
    for i, (a, _, _) in enumerate(batch):
        images[i, 0, :, : a.shape[1]] = a
        images[i, 0, :, a.shape[1] :] = a[:, -1:]
        widths.append(a.shape[1])
    targets = torch.tensor([t for _, ts, _ in batch for t in ts], dtype=torch.long)
    lengths = torch.tensor([len(ts) for _, ts, _ in batch], dtype=torch.long)
    return torch.from_numpy(images), targets, lengths, torch.tensor(widths), [b[2] for b in batch]


def load_base_model(init: Path | None = None):
    """english_g2 as easyocr ships it, or the same network with the weights of ``init``
    (a ``.pth`` this module wrote: a second stage starts from the first's weights)."""
    import easyocr_en_models
    from easyocr.model.vgg_model import Model

    model = Model(
        input_channel=1, output_channel=256, hidden_size=256, num_class=len(_charset()) + 1
    )
    state = torch.load(
        Path(init or Path(easyocr_en_models.model_dir()) / "english_g2.pth"),
        map_location="cpu",
        weights_only=False,
    )
    model.load_state_dict(
        OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in state.items())
    )
    return model


def save_weights(model, path: Path) -> None:
    """Save as easyocr expects: a state dict whose keys carry a 7-character prefix."""
    state = OrderedDict(("module." + k, v.detach().clone()) for k, v in model.state_dict().items())
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


# english_g2's convolution layers before index ``train_from`` stay as they are: their
# output is computed once per sample and cached, and only the layers from there on
# (the last three convolutions, the BiLSTMs and the output layer by default) are
# trained on it.  That keeps training within the hour on two CPU cores (a full
# backward pass through every layer measured ~10x slower here).
def _feature_head(model, feats: torch.Tensor, upto: int) -> torch.Tensor:
    """english_g2's forward pass from the cached convolution output onwards."""
    x = model.FeatureExtraction.ConvNet[upto:](feats)
    x = model.AdaptiveAvgPool(x.permute(0, 3, 1, 2)).squeeze(3)
    x = model.SequenceModeling(x)
    return model.Prediction(x.contiguous())


# One cached sample: the frozen layers' output (float16), its target indices and its label.
_Cached = tuple[torch.Tensor, torch.Tensor, str]


def train(
    *,
    samples: int = 12000,
    epochs: int = 4,
    batch_size: int = 32,
    lr: float = 5e-4,
    seed: int = 20261203,
    threads: int = 2,
    workers: int = 1,
    out: Path | None = None,
    log: Callable[[str], object] = print,
    stop_after: int | None = None,
    train_from: int = 11,
    validation: int = 256,
    init: Path | None = None,
    open_four: float = 0.0,
) -> Path:
    """Train and write the weights after each epoch; ``stop_after`` ends the run early
    (after that many epochs of the ``epochs``-long learning-rate schedule). ``validation``
    held-out rendered lines (a stream of their own) measure each epoch; they are never
    trained on, so their number does not change the weights.  ``init`` starts from those
    weights instead of english_g2's; ``open_four`` is the renderer's chance of drawing a
    plate's 4s open at the top (in the validation lines too)."""
    # The steps run in a fixed order: torch's generator is seeded once at the start, and
    # building the model and iterating the loaders draw from it, so the order is part of
    # what makes the same command give the same weights.
    out = Path(out or MODELS_DIR / f"{PLATE_MODEL}.pth")
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    charset = _charset()
    model = load_base_model(init)
    model.eval()
    trunk = _frozen_trunk(model, train_from)
    t0 = time.time()
    val = _cached_features(
        trunk, _loader(SyntheticLines(seed + 1, validation, open_four), batch_size, workers)
    )
    log(f"validation features: {len(val)} in {time.time() - t0:.0f}s")
    lines = SyntheticLines(seed, samples, open_four)
    train_set = _cached_features(trunk, _loader(lines, batch_size, workers))
    log(f"training features: {len(train_set)} in {time.time() - t0:.0f}s")
    steps = _Steps.start(
        model, train_from=train_from, lr=lr, total=math.ceil(len(train_set) / batch_size) * epochs
    )
    log(f"start: synthetic validation exact {_exact_rate(model, val, train_from, charset):.3f}")
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        _train_mode_keeping_batch_norm(model)
        order = torch.randperm(len(train_set), generator=gen).tolist()
        for i in range(0, len(order), batch_size):
            steps.take([train_set[j] for j in order[i : i + batch_size]])
            if steps.step % 50 == 0:
                log(
                    f"epoch {epoch + 1} step {steps.step}/{steps.total} loss {steps.running:.3f} "
                    f"{time.time() - t0:.0f}s"
                )
        acc = _exact_rate(model, val, train_from, charset)
        save_weights(model, out)
        log(
            f"epoch {epoch + 1}: synthetic validation exact {acc:.3f} -> {out} ({time.time() - t0:.0f}s)"
        )
        if stop_after and epoch + 1 >= stop_after:
            break
    log(f"done in {time.time() - t0:.0f}s")
    return out


def _frozen_trunk(model: Any, train_from: int) -> torch.nn.Module:
    """The convolution layers before ``train_from``, with their weights frozen."""
    # ``model`` is easyocr's VGG recognizer; easyocr has no type hints for its layers.
    trunk: torch.nn.Module = model.FeatureExtraction.ConvNet[:train_from]
    for p in trunk.parameters():
        p.requires_grad = False
    return trunk


def _loader(dataset: SyntheticLines, batch_size: int, workers: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        prefetch_factor=4 if workers > 0 else None,
    )


def _cached_features(trunk: torch.nn.Module, loader: torch.utils.data.DataLoader) -> list[_Cached]:
    """Every sample of ``loader`` through the frozen layers, cut to its own width."""
    cached = []
    with torch.no_grad():
        for images, targets, lengths, widths, labels in loader:
            f = trunk(images)  # (B, 256, 4, W/4)
            offsets = torch.cumsum(lengths, 0) - lengths
            for b in range(images.shape[0]):
                fw = max(2, math.ceil(f.shape[3] * int(widths[b]) / images.shape[3]))
                tgt = targets[offsets[b] : offsets[b] + lengths[b]].clone()
                cached.append((f[b, :, :, :fw].to(torch.float16).clone(), tgt, labels[b]))
    return cached


def _feature_batch(
    items: list[_Cached],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    """(features padded with their last column, output widths, targets, target lengths,
    labels) of a batch of cached samples."""
    max_w = max(f.shape[2] for f, _, _ in items)
    feats = torch.zeros(len(items), *items[0][0].shape[:2], max_w)
    for i, (f, _, _) in enumerate(items):
        feats[i, :, :, : f.shape[2]] = f.float()
        feats[i, :, :, f.shape[2] :] = f[:, :, -1:].float()
    widths = torch.tensor([f.shape[2] - 1 for f, _, _ in items])  # 2x2 conv: one less
    targets = torch.cat([t for _, t, _ in items])
    lengths = torch.tensor([len(t) for _, t, _ in items])
    return feats, widths, targets, lengths, [lab for _, _, lab in items]


def _collapse(indices: np.ndarray, charset: str) -> str:
    """Greedy CTC text of one sequence of class indices: repeats merged, blanks dropped."""
    prev, text = 0, []
    for c in indices:
        if c != prev and c != 0:
            text.append(charset[c - 1])
        prev = c
    return "".join(text)


def _exact_rate(model: torch.nn.Module, val: list[_Cached], train_from: int, charset: str) -> float:
    """The share of validation samples read exactly (greedy decoding)."""
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(val), 64):
            feats, widths, _, _, labels = _feature_batch(val[i : i + 64])
            logits = _feature_head(model, feats, train_from)
            idx = logits.argmax(2).numpy()
            for b, lab in enumerate(labels):
                right += _collapse(idx[b, : int(widths[b])], charset) == lab
    return right / len(val)


def _train_mode_keeping_batch_norm(model: torch.nn.Module) -> None:
    """Training mode, except that english_g2's batch-norm statistics stay as they are."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()


@dataclass
class _Steps:
    """The optimisation: Adam on the trained layers under a warm-up then cosine learning
    rate, with a running average of the loss for the log."""

    model: torch.nn.Module
    params: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    ctc: torch.nn.CTCLoss
    train_from: int
    lr: float
    total: int  # steps in the whole schedule
    step: int = 0
    running: float | None = None

    @classmethod
    def start(cls, model: torch.nn.Module, *, train_from: int, lr: float, total: int) -> _Steps:
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=lr)
        ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
        return cls(model, params, optimizer, ctc, train_from, lr, total)

    def lr_at(self, step: int) -> float:
        warm = 30
        lr = self.lr
        if step < warm:
            return lr * (step + 1) / warm
        p = (step - warm) / max(1, self.total - warm)
        return 1e-5 + (lr - 1e-5) * 0.5 * (1 + math.cos(math.pi * p))

    def take(self, items: list[_Cached]) -> None:
        """One optimisation step on a batch of cached samples."""
        feats, widths, targets, lengths, _ = _feature_batch(items)
        for g in self.optimizer.param_groups:
            g["lr"] = self.lr_at(self.step)
        logits = _feature_head(self.model, feats, self.train_from)
        log_probs = logits.log_softmax(2).permute(1, 0, 2)
        loss = self.ctc(log_probs, targets, widths, lengths)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 5.0)
        self.optimizer.step()
        running = self.running
        self.running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        self.step += 1


# The command that made the committed weights (see models/README.md).
DEFAULTS = {
    "samples": 12000,
    "epochs": 4,
    "batch_size": 32,
    "lr": 5e-4,
    "seed": 20261203,
    "threads": 2,
    "workers": 1,
    "stop_after": 2,
    "train_from": 11,
    "init": None,
    "open_four": 0.0,
}


def add_arguments(parser) -> None:
    """The training options, shared by ``manage.py train_plate_reader`` and ``-m``."""
    d = DEFAULTS
    parser.add_argument("--samples", type=int, default=d["samples"])
    parser.add_argument("--epochs", type=int, default=d["epochs"])
    parser.add_argument("--batch-size", type=int, default=d["batch_size"])
    parser.add_argument("--lr", type=float, default=d["lr"])
    parser.add_argument("--seed", type=int, default=d["seed"])
    parser.add_argument("--threads", type=int, default=d["threads"])
    parser.add_argument(
        "--workers", type=int, default=d["workers"], help="Sample-rendering processes."
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--init",
        type=Path,
        default=d["init"],
        help="Start from these weights (a .pth of an earlier stage) instead of english_g2's.",
    )
    parser.add_argument(
        "--open-four",
        type=float,
        default=d["open_four"],
        help="The chance that a plate with a 4 draws it open at the top (California's face).",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=d["stop_after"],
        help="Stop after this many epochs of the --epochs schedule.",
    )
    parser.add_argument(
        "--train-from",
        type=int,
        default=d["train_from"],
        help="english_g2's convolution layers before this index stay frozen (their "
        "output is cached); the rest of the network is trained.",
    )


def run_from_options(options: dict, log=print) -> Path:
    missing = missing_fonts()
    if missing:
        raise SystemExit(
            f"Training needs the fonts {', '.join(missing)}; install the Debian packages "
            f"{FONT_PACKAGES} (the same fonts give the same weights)."
        )
    keys = (*DEFAULTS, "out")
    return train(**{k: options[k] for k in keys}, log=log)
