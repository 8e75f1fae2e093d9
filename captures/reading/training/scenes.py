"""Training scenes for the plate detector: rendered plates composited on rendered streets.

Training only. Everything is drawn here with Pillow from ``random.Random(seed)``: no
photograph is used. A scene is a grey image at the detector's working scale (a photo's long
side at ``DETECTOR_SIDE`` px) with 0-3 plates from the one plate renderer
(``captures.synthetic.plates.render_plate``), most of them on the rear of a drawn car, among
the things that fool a plate finder in real photos: signs and lettering on trucks, phone
numbers, bumper stickers, dealer frames around the plate, timestamps burned into the border,
windows, lights, grilles, kerbs and shadows. The target is the mask of every plate's face.
"""

from __future__ import annotations

import math
import random
import string

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from captures.synthetic.plates import any_font, font_files, render_plate

from .samples import jpeg_round_trip, sensor_noise

# A plate's width in the scene, in px at the detector's scale: the dev photos' plates are
# 4-21% of the long side (26-137 px at 640), drawn here a little wider on both ends.
PLATE_W = (16.0, 180.0)
WORDS = (
    "TRUCK RENTAL",
    "MOVING",
    "STORAGE",
    "PIZZA",
    "DELIVERY",
    "PLUMBING",
    "SERVICES",
    "Household & Business",
    "www.example.com",
    "CALL NOW",
    "EXIT",
    "STOP",
    "ONE WAY",
    "PARKING",
    "Music is the best",
    "FORD",
    "TOYOTA",
    "HONDA",
    "CHEVROLET",
    "4x4",
    "HYBRID",
    "SPORT",
    "LIMITED",
    "Honor Student",
    "Baby on board",
    "Auto Sales",
    "MOTORS",
    "Dealer",
    "SPEED LIMIT 35",
    "NO PARKING",
    "OPEN",
    "Coffee",
    "Bank",
    "Fire Lane",
)


def _colour(rng: random.Random, lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def _phone(rng: random.Random) -> str:
    digits = string.digits
    return (
        f"{''.join(rng.choices(digits, k=3))}-{''.join(rng.choices(digits, k=3))}-"
        f"{''.join(rng.choices(digits, k=4))}"
    )


def _distractor_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(WORDS)
    if roll < 0.65:
        return _phone(rng)
    if roll < 0.8:  # a timestamp, as cameras burn them in
        return (
            f"20{rng.randint(10, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        )
    # plate-like strings away from any plate: model names, bumper codes, numbers on signs
    k = rng.randint(2, 7)
    return "".join(rng.choices(string.ascii_uppercase + string.digits, k=k))


def _font(rng: random.Random, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    main, text = font_files()
    return any_font(rng, text or main, max(6, size))


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    img = Image.new("RGB", (w, h), _colour(rng, 40, 220))
    d = ImageDraw.Draw(img)
    horizon = rng.randint(h // 5, h * 3 // 4)
    # sky / buildings / trees above, road below
    top, bottom = np.array(_colour(rng, 60, 250), float), np.array(_colour(rng, 30, 200), float)
    for y in range(horizon):
        d.line([(0, y), (w, y)], fill=tuple(int(v) for v in top + (bottom - top) * y / horizon))
    road = rng.randint(50, 170)
    d.rectangle([0, horizon, w, h], fill=(road, road, road + rng.randint(-10, 10)))
    for _ in range(rng.randint(2, 14)):  # buildings, walls, windows, trees
        x0, y0 = rng.randint(-w // 4, w), rng.randint(-h // 4, horizon)
        x1, y1 = x0 + rng.randint(10, w // 2), y0 + rng.randint(10, h // 2)
        fill = _colour(rng, 20, 240)
        if rng.random() < 0.6:
            d.rectangle([x0, y0, x1, y1], fill=fill)
            if rng.random() < 0.5:  # a grid of windows
                step = rng.randint(6, 24)
                wc = _colour(rng, 10, 250)
                for yy in range(y0 + 3, y1 - step // 2, step):
                    for xx in range(x0 + 3, x1 - step // 2, step):
                        d.rectangle([xx, yy, xx + step // 2, yy + step // 2], fill=wc)
        else:
            d.ellipse([x0, y0, x1, y1], fill=fill)
    for _ in range(rng.randint(0, 8)):  # kerbs, lane marks, poles, shadows
        c = rng.randint(0, 255)
        d.line(
            [
                (rng.randint(-w, 2 * w), rng.randint(0, h)),
                (rng.randint(-w, 2 * w), rng.randint(0, h)),
            ],
            fill=(c, c, c),
            width=rng.randint(1, 12),
        )
    for _ in range(rng.randint(0, 4)):  # grass, leaves, gravel: fine texture over an area
        _texture_patch(rng, img)
    # texture: smooth noise at a random scale
    cells = rng.randint(4, 40)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 1, (cells, cells))
    tex = Image.fromarray(np.uint8(np.clip(128 + 40 * noise, 0, 255))).resize(
        (w, h), Image.Resampling.BICUBIC
    )
    return Image.blend(img, tex.convert("RGB"), rng.uniform(0.0, 0.35))


def _texture_patch(rng: random.Random, img: Image.Image) -> None:
    """A patch of fine natural texture (grass, foliage, gravel) inside a random polygon: busy
    at the scale of a plate's characters, and no plate."""
    w, h = img.size
    pw, ph = rng.randint(w // 6, w), rng.randint(h // 8, h // 2)
    base = np.array(_colour(rng, 20, 200), dtype=np.float32)
    gen = np.random.default_rng(rng.randint(0, 2**31))
    kind = rng.random()
    if kind < 0.4:  # speckle: pixel noise, a little blurred
        grain = gen.normal(0, rng.uniform(20, 60), (ph, pw)).astype(np.float32)
        tex = Image.fromarray(np.uint8(np.clip(128 + grain, 0, 255))).filter(
            ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2))
        )
        arr = np.asarray(tex, dtype=np.float32)[..., None] - 128 + base
        patch = Image.fromarray(np.uint8(np.clip(arr, 0, 255)))
    else:  # blades or leaves: many short strokes or small blobs
        patch = Image.new("RGB", (pw, ph), tuple(int(v) for v in base))
        d = ImageDraw.Draw(patch)
        size = rng.uniform(2, 9)
        for _ in range(min(1200, int(pw * ph / (size * size) * rng.uniform(0.3, 1.0)))):
            x, y = rng.uniform(0, pw), rng.uniform(0, ph)
            shade = tuple(int(np.clip(v + rng.gauss(0, 45), 0, 255)) for v in base)
            if kind < 0.7:
                d.line([(x, y), (x + rng.gauss(0, size / 3), y - size)], fill=shade, width=1)
            else:
                r = size * rng.uniform(0.3, 0.7)
                d.ellipse([x - r, y - r / 1.5, x + r, y + r / 1.5], fill=shade)
    mask = Image.new("L", (pw, ph), 0)
    pts = [(rng.uniform(0, pw), rng.uniform(0, ph)) for _ in range(rng.randint(3, 7))]
    ImageDraw.Draw(mask).polygon(pts, fill=255)
    if rng.random() < 0.5:
        mask = Image.new("L", (pw, ph), 255)
    img.paste(patch, (rng.randint(-pw // 4, w - pw // 2), rng.randint(0, h - ph // 2)), mask)


def _text(rng: random.Random, d: ImageDraw.ImageDraw, xy, size: int, fill) -> None:
    d.text(xy, _distractor_text(rng), font=_font(rng, size), fill=fill)


def _sign(rng: random.Random, img: Image.Image, scale: float) -> None:
    """A panel of lettering: a sign, a truck's side, a sticker."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    pw = int(rng.uniform(2, 12) * scale)
    ph = int(pw / rng.uniform(0.8, 5))
    x0, y0 = rng.randint(-pw // 3, w), rng.randint(-ph // 3, h)
    bg = _colour(rng)
    d.rectangle([x0, y0, x0 + pw, y0 + ph], fill=bg)
    lines = rng.randint(1, 4)
    ink = tuple(255 - c for c in bg) if rng.random() < 0.7 else _colour(rng)
    for i in range(lines):
        size = max(6, int(ph / (lines + 1) * rng.uniform(0.6, 1.1)))
        _text(rng, d, (x0 + rng.randint(0, max(1, pw // 6)), y0 + i * ph // lines), size, ink)


def _perspective(src_size, quad):
    """Coefficients for Image.transform(PERSPECTIVE): output pixel -> source pixel, mapping the
    output quad ``quad`` (4 corners, clockwise from top-left) onto the source rectangle."""
    sw, sh = src_size
    src = [(0, 0), (sw, 0), (sw, sh), (0, sh)]
    a, b = [], []
    for (x, y), (u, v) in zip(quad, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return tuple(np.linalg.solve(np.array(a, float), np.array(b, float)))


def _place_plate(
    rng: random.Random, img: Image.Image, mask: Image.Image, cx: float, cy: float, pw: float
) -> None:
    """Render a plate and paste it, in perspective, with its face's mask."""
    w_render = rng.randint(240, 360)
    plate = render_plate(rng, size=(w_render, int(w_render / rng.uniform(1.85, 2.15))))
    face = plate.image
    ph = pw / 2 * rng.uniform(0.9, 1.1)
    # corners of the face in the scene: rotation, then a little perspective
    angle = math.radians(rng.gauss(0, 4))
    ca, sa = math.cos(angle), math.sin(angle)
    shear = rng.uniform(-0.12, 0.12)
    j = 0.08 * pw
    quad = []
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = dx * pw / 2 + shear * dy * ph / 2, dy * ph / 2
        x, y = x * ca - y * sa, x * sa + y * ca
        quad.append((cx + x + rng.uniform(-j, j), cy + y + rng.uniform(-j, j)))
    d = ImageDraw.Draw(img)
    if rng.random() < 0.45:  # a frame around the plate, often with a dealer's name
        grow = rng.uniform(1.06, 1.25)
        frame = [(cx + (x - cx) * grow, cy + (y - cy) * (grow + 0.1)) for x, y in quad]
        d.polygon(frame, fill=_colour(rng, 0, 255))
        if rng.random() < 0.6:
            fsize = max(5, int(ph * rng.uniform(0.1, 0.18)))
            d.text(
                (cx - pw * 0.35, cy + ph / 2 + 1),
                rng.choice(WORDS),
                font=_font(rng, fsize),
                fill=_colour(rng),
            )
    coeffs = _perspective(face.size, quad)
    warped = face.transform(
        img.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    alpha = Image.new("L", face.size, 255).transform(
        img.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    img.paste(warped, (0, 0), alpha)
    ImageDraw.Draw(mask).polygon(quad, fill=255)


def _car(rng: random.Random, img: Image.Image, cx: float, cy: float, pw: float) -> None:
    """The rear (or front) of a car around a plate centred at (cx, cy)."""
    d = ImageDraw.Draw(img)
    cw = pw * rng.uniform(3.5, 7)
    ch = cw * rng.uniform(0.55, 0.95)
    x0 = cx - cw * rng.uniform(0.4, 0.6)
    y0 = cy - ch * rng.uniform(0.55, 0.8)
    body = _colour(rng)
    d.rounded_rectangle(
        [x0, y0, x0 + cw, y0 + ch], radius=int(cw * rng.uniform(0.03, 0.15)), fill=body
    )
    glass = _colour(rng, 10, 90)
    d.rounded_rectangle(
        [x0 + cw * 0.12, y0 + ch * 0.05, x0 + cw * 0.88, y0 + ch * rng.uniform(0.3, 0.45)],
        radius=int(cw * 0.04),
        fill=glass,
    )
    lamp = (rng.randint(150, 255), rng.randint(0, 80), rng.randint(0, 80))
    if rng.random() < 0.3:
        lamp = _colour(rng, 180, 255)
    ly = y0 + ch * rng.uniform(0.45, 0.6)
    lw, lh = cw * rng.uniform(0.1, 0.2), ch * rng.uniform(0.06, 0.14)
    d.rectangle([x0 + cw * 0.03, ly, x0 + cw * 0.03 + lw, ly + lh], fill=lamp)
    d.rectangle([x0 + cw * 0.97 - lw, ly, x0 + cw * 0.97, ly + lh], fill=lamp)
    by = y0 + ch * rng.uniform(0.78, 0.9)
    d.rectangle([x0 - cw * 0.02, by, x0 + cw * 1.02, by + ch * 0.1], fill=_colour(rng, 10, 200))
    if rng.random() < 0.4:  # a grille (front of the car)
        gy = cy - pw * 0.6
        for k in range(rng.randint(3, 8)):
            yy = gy - k * pw * 0.08
            d.line([(cx - pw, yy), (cx + pw, yy)], fill=_colour(rng, 0, 255), width=2)
    for wx in (x0 + cw * 0.15, x0 + cw * 0.85):  # wheels
        r = ch * 0.13
        d.ellipse([wx - r, y0 + ch - r, wx + r, y0 + ch + r], fill=(15, 15, 15))
    if rng.random() < 0.5:  # a badge or model name
        d.text(
            (cx + pw * rng.uniform(0.5, 1.2), y0 + ch * 0.5),
            rng.choice(WORDS),
            font=_font(rng, int(pw * rng.uniform(0.08, 0.2))),
            fill=_colour(rng),
        )


def _camera(rng: random.Random, img: Image.Image) -> Image.Image:
    """Exposure, blur, noise and JPEG, on the grey image."""
    arr: np.ndarray = np.asarray(img.convert("L"), dtype=np.float32)
    arr = (arr - arr.mean()) * rng.uniform(0.5, 1.3) + arr.mean() + rng.uniform(-40, 40)
    if rng.random() < 0.3:  # a shadow across the scene
        x = rng.randint(0, arr.shape[1])
        arr[:, x:] *= rng.uniform(0.4, 0.8)
    grey = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.6:
        grey = grey.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.4)))
    if rng.random() < 0.3:  # a lower-resolution camera, scaled up
        w, h = grey.size
        k = rng.uniform(0.45, 0.8)
        grey = grey.resize((max(8, int(w * k)), max(8, int(h * k)))).resize((w, h))
    arr = np.asarray(grey, dtype=np.float32)
    if rng.random() < 0.6:
        arr = sensor_noise(rng, arr, 12)
    grey = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.6:
        grey = jpeg_round_trip(grey, rng.randint(25, 90))
    return grey


def scene_sample(
    rng: random.Random, size: tuple[int, int] = (320, 320)
) -> tuple[Image.Image, np.ndarray]:
    """One training scene (grey, ``size``) and the mask of its plates' faces (0/1 uint8)."""
    w, h = size
    img = _background(rng, w, h)
    mask = Image.new("L", size, 0)
    plates = rng.choices((0, 1, 2, 3), weights=(12, 62, 18, 8))[0]
    scale = math.exp(rng.uniform(math.log(PLATE_W[0]), math.log(PLATE_W[1])))
    for _ in range(rng.randint(0, 4)):
        _sign(rng, img, scale * rng.uniform(0.5, 2))
    for _ in range(plates):
        pw = scale * rng.uniform(0.7, 1.3)
        cx, cy = rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h)
        if rng.random() < 0.8:
            _car(rng, img, cx, cy, pw)
        _place_plate(rng, img, mask, cx, cy, pw)
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(0, 3)):  # loose lettering anywhere (stickers, signs' words)
        _text(
            rng,
            d,
            (rng.randint(0, w), rng.randint(0, h)),
            int(scale * rng.uniform(0.1, 0.5)),
            _colour(rng),
        )
    if rng.random() < 0.25:  # a timestamp burned into the border
        _text(
            rng,
            d,
            (rng.randint(0, w // 2), rng.choice((1, h - 14))),
            rng.randint(9, 16),
            (255, 255, 255),
        )
    return _camera(rng, img), (np.asarray(mask) > 127).astype(np.uint8)
