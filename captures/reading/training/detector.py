"""Train the plate detector (``captures.reading.plate_detector``) on rendered scenes (CPU).

``python -m captures.reading.training.detector`` (``make train-detector`` installs the fonts
first) trains from scratch and writes ``models/plate_detector.pth`` and the ONNX file the
portal runs, ``models/plate_detector.onnx``. Reproducible: scene ``i`` is drawn from
``random.Random(seed * 10**7 + i)`` (every step sees scenes never seen before) and torch is
seeded, so the same command gives the same weights.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from captures.reading.plate_detector import STRIDE, WEIGHTS, regions
from captures.synthetic.plates import FONT_PACKAGES, missing_fonts

from .scenes import scene_sample

ONNX = WEIGHTS  # what the portal runs
PTH = WEIGHTS.with_suffix(".pth")


def _block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class PlateNet(nn.Module):
    """A small U-shaped network: features down to 1/32 of the photo (context enough to tell a
    plate from a sign), back up to 1/4 with skips, one logit per 4x4 px."""

    def __init__(self) -> None:
        super().__init__()
        self.s2 = _block(1, 16, 2)
        self.s4 = nn.Sequential(_block(16, 24, 2), _block(24, 24))
        self.s8 = nn.Sequential(_block(24, 48, 2), _block(48, 48))
        self.s16 = nn.Sequential(_block(48, 64, 2), _block(64, 64), _block(64, 64, dilation=2))
        self.s32 = nn.Sequential(_block(64, 96, 2), _block(96, 96), _block(96, 96, dilation=2))
        self.up16 = _block(96 + 64, 64)
        self.up8 = _block(64 + 48, 32)
        self.up4 = _block(32 + 24, 24)
        self.head = nn.Conv2d(24, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - 127.5) / 64.0
        f4 = self.s4(self.s2(x))
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        f32 = self.s32(f16)

        def up(a: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
            return torch.cat([nn.functional.interpolate(a, scale_factor=2.0), skip], 1)

        u = self.up16(up(f32, f16))
        u = self.up8(up(u, f8))
        u = self.up4(up(u, f4))
        return self.head(u)


class Scenes(torch.utils.data.Dataset):
    def __init__(self, seed: int, length: int, size: int) -> None:
        self.seed, self.length, self.size = seed, length, size

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        image, mask = scene_sample(random.Random(self.seed * 10**7 + i), (self.size, self.size))
        s = self.size // STRIDE
        # the share of each 4x4 cell that lies on a plate's face
        target = mask.reshape(s, STRIDE, s, STRIDE).mean(axis=(1, 3)).astype(np.float32)
        return np.asarray(image, dtype=np.float32)[None], target[None]


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    bce = nn.functional.binary_cross_entropy_with_logits(
        logits, target, pos_weight=torch.tensor(4.0)
    )
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    return bce + 0.5 * dice.mean()


def _recall(model: nn.Module, val: list) -> tuple[float, float]:
    """Held-out scenes: the share of plates hit by a detected region, and false regions per
    scene."""
    model.eval()
    hit = total = false = 0
    with torch.no_grad():
        for images, targets in val:
            probs = torch.sigmoid(model(images)).numpy()
            for prob, target in zip(probs[:, 0], targets.numpy()[:, 0], strict=True):
                n, labels = cv2.connectedComponents((target > 0.5).astype(np.uint8))
                n -= 1  # the background
                found = regions(prob)
                total += n
                covered = set()
                for x0, y0, x1, y1, _ in found:
                    inside = set(np.unique(labels[y0:y1, x0:x1])) - {0}
                    if inside:
                        covered |= inside
                    else:
                        false += 1
                hit += len(covered)
    model.train()
    return hit / max(1, total), false / max(1, sum(len(t) for _, t in val))


def train(
    *,
    steps: int = 2500,
    batch_size: int = 16,
    size: int = 256,
    lr: float = 2e-3,
    seed: int = 20261201,
    threads: int = 2,
    workers: int = 1,
    validation: int = 128,
    out: Path = PTH,
    onnx: Path | None = ONNX,
    log: Callable[[str], object] = print,
) -> dict:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    model = PlateNet()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    warm = min(200, steps // 10)

    def rate(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, rate)

    def loader(data: Scenes) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            data,
            batch_size=batch_size,
            shuffle=False,
            num_workers=workers,
            prefetch_factor=4 if workers > 0 else None,
        )

    val = list(loader(Scenes(seed + 1, validation, size)))
    t0 = time.time()
    running = None
    model.train()
    for step, (images, targets) in enumerate(loader(Scenes(seed, steps * batch_size, size))):
        loss = _loss(model(images), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % 100 == 0:
            log(f"step {step + 1}/{steps} loss {running:.3f} {time.time() - t0:.0f}s")
        if (step + 1) % 1000 == 0 or step + 1 == steps:
            recall, false = _recall(model, val)
            log(f"step {step + 1}: held-out recall {recall:.3f}, false regions/scene {false:.2f}")
            _save(model, out)
    recall, false = _recall(model, val)
    result = {
        "steps": steps,
        "seconds": round(time.time() - t0),
        "held_out_recall": round(recall, 4),
        "false_per_scene": round(false, 3),
    }
    _save(model, out)
    if onnx is not None:
        export(out, onnx)
    log(json.dumps(result))
    return result


def _save(model: nn.Module, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(path)


def export(pth: Path = PTH, onnx: Path = ONNX) -> Path:
    """The ONNX file the portal runs (any height and width, multiples of 32)."""
    model = PlateNet()
    model.load_state_dict(torch.load(pth, map_location="cpu", weights_only=True))
    model.eval()
    tmp = onnx.with_suffix(".tmp")
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated, still supported, and needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (torch.zeros(1, 1, 256, 320),),
            str(tmp),
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {2: "h", 3: "w"}, "logits": {2: "h4", 3: "w4"}},
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(onnx)
    return onnx


# The command that made the committed weights (see models/README.md).
DEFAULTS = {
    "steps": 2500,
    "batch_size": 16,
    "size": 256,
    "lr": 2e-3,
    "seed": 20261201,
    "validation": 128,
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m captures.reading.training.detector",
        description="Train the plate detector on rendered scenes (CPU).",
    )
    for name, value in DEFAULTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="Scene-rendering processes.")
    parser.add_argument("--out", type=Path, default=PTH)
    parser.add_argument("--onnx", type=Path, default=ONNX)
    options = vars(parser.parse_args(argv))
    missing = missing_fonts()
    if missing:
        raise SystemExit(
            f"Training needs the fonts {', '.join(missing)}; install the Debian packages "
            f"{FONT_PACKAGES} (the same fonts give the same weights)."
        )
    return train(**options, log=lambda m: print(m, flush=True))


if __name__ == "__main__":
    main()
