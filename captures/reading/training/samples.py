"""Training samples for the plate recognizer: crops of a rendered plate's number line.

Training only (inference never imports ``captures.reading.training``). The plates come from
the one renderer, ``captures.synthetic.plates``; this module crops the number's line (or one
group of it) the way the text detector would, and damages the crop the way cameras do.
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageFilter

from captures.synthetic.plates import render_plate


def _augment_crop(rng: random.Random, crop: Image.Image) -> Image.Image:
    """Damage a grey crop the way cameras do: angle, blur, low resolution, noise, JPEG."""
    w, h = crop.size
    # small rotation/shear
    if rng.random() < 0.7:
        angle = rng.uniform(-4, 4)
        shear = rng.uniform(-0.2, 0.2)
        crop = crop.rotate(
            angle,
            resample=Image.Resampling.BILINEAR,
            expand=False,
            fillcolor=int(np.median(np.asarray(crop))),
        )
        crop = crop.transform(
            crop.size,
            Image.Transform.AFFINE,
            (1, shear, -shear * h / 2, 0, 1, 0),
            resample=Image.Resampling.BILINEAR,
        )
    # contrast / brightness
    arr: np.ndarray = np.asarray(crop, dtype=np.float32)
    if rng.random() < 0.6:
        k = rng.uniform(0.35, 1.0)
        arr = (arr - arr.mean()) * k + arr.mean() + rng.uniform(-50, 50)
    if rng.random() < 0.2:  # shadow across part of the crop
        x = rng.randint(0, w)
        arr[:, x:] *= rng.uniform(0.4, 0.8)
    crop = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    # resolution: the number's line between 10 and 90 px tall
    target_h = int(math.exp(rng.uniform(math.log(10), math.log(90))))
    if target_h < h:
        crop = crop.resize((max(4, int(w * target_h / h)), target_h), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        crop = crop.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.3)))
    arr = np.asarray(crop, dtype=np.float32)
    if rng.random() < 0.6:
        arr = sensor_noise(rng, arr, 14)
    crop = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        crop = jpeg_round_trip(crop, rng.randint(15, 90))
    return crop


def sensor_noise(rng: random.Random, arr: np.ndarray, sigma_max: float) -> np.ndarray:
    """``arr`` plus Gaussian noise of a random strength (2 to ``sigma_max`` grey levels)."""
    return arr + np.random.default_rng(rng.randint(0, 2**31)).normal(
        0, rng.uniform(2, sigma_max), arr.shape
    )


def jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    """A grey image as a camera's JPEG encoder leaves it."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("L")


def training_sample(rng: random.Random, *, open_four: float = 0.0) -> tuple[Image.Image, str]:
    """A grey crop around a plate number's line (or one group of it) and its label;
    ``open_four`` is the renderer's chance of drawing a number's 4s open at the top."""
    w = rng.randint(260, 360)
    plate = render_plate(rng, size=(w, int(w / rng.uniform(1.8, 2.2))), open_four=open_four)
    img = plate.image
    # perspective on the whole plate (before cropping, so neighbours bleed in)
    if rng.random() < 0.4:
        pw, ph = img.size
        dx, dy = pw * 0.06, ph * 0.06
        coeffs = _perspective_coeffs(
            [
                (rng.uniform(-dx, dx), rng.uniform(-dy, dy)),
                (pw + rng.uniform(-dx, dx), rng.uniform(-dy, dy)),
                (pw + rng.uniform(-dx, dx), ph + rng.uniform(-dy, dy)),
                (rng.uniform(-dx, dx), ph + rng.uniform(-dy, dy)),
            ],
            [(0, 0), (pw, 0), (pw, ph), (0, ph)],
        )
        img = img.transform(
            img.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
        )
    if len(plate.group_boxes) > 1 and rng.random() < 0.25:
        label, (x0, y0, x1, y1) = rng.choice(plate.group_boxes)
    else:
        label, (x0, y0, x1, y1) = plate.text, plate.box
    ch = y1 - y0
    top = y0 - ch * rng.uniform(-0.06, 0.3)
    bottom = y1 + ch * rng.uniform(-0.06, 0.3)
    left = x0 - ch * rng.uniform(-0.04, 0.35)
    right = x1 + ch * rng.uniform(-0.04, 0.35)
    if plate.stacked_box and label == plate.text and rng.random() < 0.7:
        # The text detector's box usually takes the stacked letters in with the number.
        left = min(left, plate.stacked_box[0] - ch * rng.uniform(0.0, 0.2))
        right = max(right, plate.stacked_box[2] + ch * rng.uniform(0.0, 0.2))
    crop = img.convert("L").crop(
        (int(left), int(top), int(math.ceil(right)), int(math.ceil(bottom)))
    )
    if rng.random() < 0.1:
        crop = Image.eval(crop, lambda v: 255 - v)
    return _augment_crop(rng, crop), label


def _perspective_coeffs(src, dst):
    """Coefficients for ``Image.transform(PERSPECTIVE)`` mapping ``dst`` points to ``src``."""
    matrix = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(matrix, dtype=float)
    b = np.array([p for uv in src for p in uv], dtype=float)
    return tuple(np.linalg.solve(a, b))
