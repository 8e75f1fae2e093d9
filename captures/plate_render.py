"""Synthetic US licence plates and vehicle scenes, drawn with Pillow.

For tests, demos and load tests: no real plate or person is ever involved. A plate has
the state's name on top, the number on the main line, a slogan below, and optionally a
registration sticker; ``difficulty`` adds rotation, perspective, blur, noise and dirt.

    rendered = render_plate(seed=7)                    # random state and number
    rendered = render_plate("7ABC123", state="CA", difficulty=0.0)  # clean, for OCR tests
    scene = render_vehicle(rendered.image, seed=7)     # the plate on a car's rear
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation")]
# Fonts for the main line (bold, upright: what plate dies look like) and for the captions.
MAIN_FONTS = [
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSans-Bold.ttf",
    "LiberationSansNarrow-Bold.ttf",
    "LiberationSans-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "LiberationMono-Bold.ttf",
]
CAPTION_FONTS = [
    "DejaVuSerif-BoldItalic.ttf",
    "LiberationSerif-BoldItalic.ttf",
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
    "DejaVuSerif-Bold.ttf",
]

PLATE_SIZE = (360, 180)  # 12 x 6 inches at 30 px/inch


@dataclass(frozen=True)
class StateStyle:
    code: str
    name: str
    slogan: str
    pattern: str  # L = letter, D = digit, other characters are printed as is
    background: tuple[int, int, int]
    text: tuple[int, int, int]
    caption: tuple[int, int, int]


STATES: dict[str, StateStyle] = {
    s.code: s
    for s in [
        StateStyle(
            "CA",
            "California",
            "dmv.ca.gov",
            "DLLLDDD",
            (250, 250, 250),
            (20, 40, 120),
            (200, 30, 30),
        ),
        StateStyle(
            "TX",
            "TEXAS",
            "The Lone Star State",
            "LLL-DDDD",
            (245, 245, 240),
            (20, 20, 20),
            (20, 20, 20),
        ),
        StateStyle(
            "NY",
            "NEW YORK",
            "EMPIRE STATE",
            "LLL-DDDD",
            (240, 200, 60),
            (20, 35, 110),
            (20, 35, 110),
        ),
        StateStyle(
            "FL",
            "FLORIDA",
            "Sunshine State",
            "LLL-LDD",
            (250, 250, 250),
            (20, 90, 50),
            (220, 110, 20),
        ),
        StateStyle(
            "WA",
            "Washington",
            "Evergreen State",
            "LLLDDDD",
            (235, 240, 250),
            (30, 40, 120),
            (30, 40, 120),
        ),
        StateStyle(
            "OR",
            "OREGON",
            "Pacific Wonderland",
            "DDD LLL",
            (240, 245, 240),
            (30, 60, 50),
            (40, 90, 60),
        ),
        StateStyle(
            "IL",
            "Illinois",
            "Land of Lincoln",
            "LL DDDDD",
            (250, 250, 250),
            (140, 20, 30),
            (20, 40, 110),
        ),
        StateStyle(
            "PA",
            "PENNSYLVANIA",
            "visitPA.com",
            "LLL-DDDD",
            (250, 250, 250),
            (20, 40, 110),
            (20, 40, 110),
        ),
        StateStyle(
            "NJ",
            "NEW JERSEY",
            "Garden State",
            "LDDLLL",
            (245, 230, 170),
            (20, 20, 20),
            (20, 20, 20),
        ),
        StateStyle(
            "AZ",
            "ARIZONA",
            "Grand Canyon State",
            "LLLDDDD",
            (245, 235, 220),
            (120, 40, 30),
            (120, 40, 30),
        ),
        StateStyle("CO", "COLORADO", "", "LLL-DDD", (240, 250, 245), (20, 100, 50), (20, 100, 50)),
        StateStyle(
            "NV",
            "Nevada",
            "The Silver State",
            "DDL-DDD",
            (235, 240, 250),
            (20, 40, 110),
            (20, 40, 110),
        ),
        StateStyle(
            "MA",
            "Massachusetts",
            "The Spirit of America",
            "DLLD DD",
            (250, 250, 250),
            (150, 20, 30),
            (20, 40, 110),
        ),
        StateStyle(
            "OH",
            "OHIO",
            "Birthplace of Aviation",
            "LLL DDDD",
            (250, 250, 250),
            (20, 20, 80),
            (150, 20, 30),
        ),
    ]
}

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # most states avoid I, O and Q
DIGITS = "0123456789"


@dataclass(frozen=True)
class RenderedPlate:
    image: Image.Image
    plate: str  # normalized: A-Z and 0-9 only
    printed: str  # as printed on the plate, separators included
    state: str


def normalize(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def random_plate_text(state: str, rng: random.Random) -> str:
    pattern = STATES[state].pattern
    return "".join(
        rng.choice(LETTERS) if ch == "L" else rng.choice(DIGITS) if ch == "D" else ch
        for ch in pattern
    )


@lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for folder in FONT_DIRS:
        path = folder / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _fit_font(draw: ImageDraw.ImageDraw, text: str, name: str, max_w: int, max_h: int):
    size = max_h
    while size > 8:
        font = _font(name, size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left <= max_w and bottom - top <= max_h:
            return font
        size -= 2
    return _font(name, 8)


def _centered(draw, box, text, font, fill) -> None:
    x0, y0, x1, y1 = box
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = x0 + (x1 - x0 - (right - left)) / 2 - left
    y = y0 + (y1 - y0 - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=font, fill=fill)


def render_plate(
    text: str | None = None,
    *,
    state: str | None = None,
    seed: int | None = None,
    difficulty: float = 0.0,
    font: str | None = None,
) -> RenderedPlate:
    """One plate image (RGB). ``difficulty`` 0 = clean and straight, 1 = hard to read."""
    rng = random.Random(seed)
    state = state or rng.choice(sorted(STATES))
    style = STATES[state]
    printed = text.upper() if text else random_plate_text(state, rng)
    width, height = PLATE_SIZE
    plate = Image.new("RGB", (width, height), style.background)
    draw = ImageDraw.Draw(plate)

    # A faint vertical gradient, as on reflective sheeting.
    for y in range(height):
        shade = int(12 * (y / height - 0.5) * rng.uniform(0.5, 1.5))
        color = tuple(max(0, min(255, c - shade)) for c in style.background)
        draw.line([(0, y), (width, y)], fill=color)

    # Embossed border and the bolt holes.
    draw.rounded_rectangle([3, 3, width - 4, height - 4], radius=14, outline=style.text, width=3)
    for bx in (width * 0.22, width * 0.78):
        for by in (height * 0.12, height * 0.88):
            draw.ellipse([bx - 5, by - 3, bx + 5, by + 3], fill=(170, 170, 170))

    caption_font_name = rng.choice(CAPTION_FONTS)
    name_font = _fit_font(draw, style.name, caption_font_name, int(width * 0.6), int(height * 0.17))
    _centered(draw, (0, 10, width, 10 + height * 0.2), style.name, name_font, style.caption)
    if style.slogan:
        slogan_font = _fit_font(
            draw, style.slogan, caption_font_name, int(width * 0.6), int(height * 0.11)
        )
        _centered(
            draw, (0, height * 0.8, width, height - 10), style.slogan, slogan_font, style.caption
        )

    main_font_name = font or rng.choice(MAIN_FONTS)
    main_font = _fit_font(draw, printed, main_font_name, int(width * 0.86), int(height * 0.48))
    _centered(draw, (0, height * 0.24, width, height * 0.78), printed, main_font, style.text)

    if rng.random() < 0.6:  # registration sticker in a top corner
        sx = rng.choice([14, width - 56])
        sticker = tuple(rng.randint(40, 230) for _ in range(3))
        draw.rectangle([sx, 12, sx + 42, 34], fill=sticker)
        small = _font(rng.choice(MAIN_FONTS), 12)
        draw.text(
            (sx + 4, 16),
            f"{rng.randint(24, 28)} {rng.randint(1, 12):02d}",
            font=small,
            fill=(255, 255, 255),
        )

    image = _degrade(plate, rng, difficulty) if difficulty > 0 else plate
    return RenderedPlate(image=image, plate=normalize(printed), printed=printed, state=state)


def _degrade(image: Image.Image, rng: random.Random, difficulty: float) -> Image.Image:
    """Camera-like damage: dirt, angle, perspective, blur, sensor noise, exposure."""
    d = max(0.0, min(1.0, difficulty))
    width, height = image.size
    draw = ImageDraw.Draw(image)
    for _ in range(int(40 * d)):  # dirt specks
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(1, 3)
        grey = rng.randint(60, 140)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(grey, grey - 10, grey - 20))
    pad = 30
    canvas = Image.new(
        "RGB", (width + 2 * pad, height + 2 * pad), tuple(rng.randint(30, 90) for _ in range(3))
    )
    canvas.paste(image, (pad, pad))
    canvas = canvas.rotate(rng.uniform(-8, 8) * d, resample=Image.Resampling.BICUBIC, expand=False)
    # Perspective: move the corners a little (a camera above and to the side).
    w, h = canvas.size
    j = 18 * d
    quad = [
        rng.uniform(0, j),
        rng.uniform(0, j),
        rng.uniform(0, j),
        h - rng.uniform(0, j),
        w - rng.uniform(0, j),
        h - rng.uniform(0, j),
        w - rng.uniform(0, j),
        rng.uniform(0, j),
    ]
    canvas = canvas.transform((w, h), Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC)
    canvas = canvas.crop((pad // 2, pad // 2, w - pad // 2, h - pad // 2))
    if d > 0.2:
        canvas = canvas.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0, 1.4 * d)))
    noise = Image.effect_noise(canvas.size, 12 + 40 * d).convert("RGB")
    canvas = Image.blend(canvas, noise, 0.08 * d)
    gain = 1 + rng.uniform(-0.35, 0.25) * d
    return canvas.point(lambda v: max(0, min(255, int(v * gain))))


def render_vehicle(plate_image: Image.Image, *, seed: int | None = None) -> Image.Image:
    """A simple 640x400 rear view of a car with the plate mounted on it."""
    rng = random.Random(seed)
    scene = Image.new("RGB", (640, 400), (rng.randint(90, 140),) * 3)
    draw = ImageDraw.Draw(scene)
    draw.rectangle([0, 300, 640, 400], fill=(60, 60, 65))  # road
    body = tuple(rng.randint(20, 220) for _ in range(3))
    draw.rounded_rectangle([110, 70, 530, 330], radius=40, fill=body)
    draw.rounded_rectangle([160, 90, 480, 170], radius=20, fill=(40, 50, 60))  # rear window
    for x in (125, 455):
        draw.rectangle([x, 195, x + 60, 225], fill=(190, 20, 20))  # lights
    draw.rectangle([100, 300, 540, 330], fill=(30, 30, 30))  # bumper
    mount = plate_image.resize((150, 75))
    scene.paste(mount, (245, 215))
    return scene.filter(ImageFilter.GaussianBlur(radius=0.6))
