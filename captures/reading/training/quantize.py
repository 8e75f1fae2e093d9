"""Quantise the CRAFT text detector to int8 for the ONNX engine
(``captures/reading/models/craft_int8.onnx``).

    python -m captures.reading.training.quantize [--samples 40] [--seed 777000]

Exports CRAFT (easyocr's ``craft_mlt_25k`` weights, unchanged) to ONNX in float32, then
quantises it statically (ONNX Runtime, QDQ, int8 weights per channel, uint8 activations,
min-max ranges) with activation ranges measured on plates drawn by the one renderer
(``captures.synthetic.plates``, seeds from ``--seed``, half of them damaged by
``degrade``), scaled to the 96 px the reader runs the detector at.  Synthetic only: no
benchmark image is used.  On two cores the int8 detector takes about a third of the float32
one's time on a plate crop.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from captures.reading import craft_post
from captures.reading.export import export
from captures.reading.onnx_engine import CRAFT_INT8
from captures.synthetic.plates import degrade, render_plate

DEFAULT_SEED = 777000


def calibration_inputs(samples: int, seed: int) -> list[np.ndarray]:
    import cv2

    inputs = []
    for i in range(samples):
        rng = random.Random(seed + i)
        plate = render_plate(rng)
        image = plate.image
        if i % 2:
            image = degrade(image, rng=rng, difficulty=rng.choice((0.0, 0.3, 0.6)))
        rgb = np.asarray(image.convert("RGB"))
        h, w = rgb.shape[:2]
        small = np.asarray(Image.fromarray(rgb).resize((max(16, round(w * 96 / h)), 96)))
        resized, _, _ = craft_post.resize_aspect_ratio(small, 2560, interpolation=cv2.INTER_LINEAR)
        x = np.transpose(craft_post.normalizeMeanVariance(resized), (2, 0, 1))[None]
        inputs.append(x.astype(np.float32))
    return inputs


def main(argv: list[str] | None = None) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=CRAFT_INT8)
    args = parser.parse_args(argv)
    started = time.monotonic()

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter({"image": x} for x in calibration_inputs(args.samples, args.seed))

        def get_next(self):
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export(folder / "onnx", model="plate", base_dir=folder / "easyocr", optimised=False)
        quant_pre_process(
            str(folder / "onnx" / "craft.onnx"), str(folder / "pre.onnx"), skip_symbolic_shape=True
        )
        quantize_static(
            str(folder / "pre.onnx"),
            str(args.out),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    print(f"wrote {args.out} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
