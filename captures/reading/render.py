"""Synthetic US-style license plates rendered with Pillow.

Used for two things: training the plate recognizer (``training_sample``: a crop of the
plate number's line with realistic damage, and its label) and tests/demos
(``render_plate``: a whole plate image).  Everything is drawn here from fonts
installed on the machine; no photograph of a real plate is used.
"""

from __future__ import annotations

import io
import math
import random
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .patterns import STATE_PATTERNS
from .states import EXTRA_NAMES, STATES

FONT_DIRS = ("/usr/share/fonts/truetype", "/usr/share/fonts/opentype", "/usr/share/fonts")
# Plate numbers are printed in bold, mostly condensed sans faces.  All of these come from
# Debian packages (see FONT_PACKAGES); training refuses to run without them, so that the
# same command gives the same weights.
MAIN_FONT_NAMES = (
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "LiberationSansNarrow-Bold.ttf",
    "LiberationSans-Bold.ttf",
    "LiberationMono-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "LiberationSansNarrow-Regular.ttf",
    "DejaVuSerifCondensed-Bold.ttf",
    "LiberationSerif-Bold.ttf",
    "NimbusSansNarrow-Bold.otf",
    "RobotoCondensed-Bold.ttf",
    "RobotoCondensed-Regular.ttf",
    "Roboto-Bold.ttf",
    "OpenSans-CondBold.ttf",
    "BebasNeue-Bold.otf",
    "BebasNeue-Regular.otf",
    "FreeSansBold.ttf",
    "Arimo-Bold.ttf",
)
FONT_PACKAGES = (
    "fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-urw-base35 fonts-roboto "
    "fonts-open-sans fonts-bebas-neue fonts-freefont-ttf fonts-croscore"
)
TEXT_FONT_NAMES = MAIN_FONT_NAMES + (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "LiberationSerif-Italic.ttf",
    "LiberationSans-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "LiberationSerif-BoldItalic.ttf",
)
LETTERS = string.ascii_uppercase
# Letters drawn for plate numbers: the alphabet plus a second helping of the letters
# condensed plate faces make hard to tell apart (W/M/N/H, Q/D/O, B, K).
PLATE_LETTERS = LETTERS + "WMNHQDBKW"
DIGITS = string.digits
SLOGANS = tuple(s for names in EXTRA_NAMES.values() for s in names) + (
    "DEALER",
    "COUNTY",
    "EXPIRES",
    "IN GOD WE TRUST",
    "SUPPORT EDUCATION",
    "PASSENGER",
    "VETERAN",
    "MOTORS",
)


@lru_cache(maxsize=1)
def font_files() -> tuple[dict[str, Path], ...]:
    found: dict[str, Path] = {}
    for d in FONT_DIRS:
        p = Path(d)
        if p.is_dir():
            for f in sorted(p.rglob("*.[ot]tf")):
                found.setdefault(f.name, f)
    main = {n: found[n] for n in MAIN_FONT_NAMES if n in found}
    text = {n: found[n] for n in TEXT_FONT_NAMES if n in found}
    return main, text


def missing_fonts() -> list[str]:
    main, text = font_files()
    return [n for n in TEXT_FONT_NAMES if n not in main and n not in text]


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def random_plate_text(rng: random.Random) -> str:
    """A plate number: mostly a state's format, sometimes a vanity string."""
    r = rng.random()
    if r < 0.75:
        pattern = rng.choice(rng.choice(list(STATE_PATTERNS.values())))
        return "".join(rng.choice(PLATE_LETTERS if c == "L" else DIGITS) for c in pattern)
    n = rng.choice((2, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8))
    alphabet = PLATE_LETTERS * 3 + DIGITS if rng.random() < 0.6 else PLATE_LETTERS + DIGITS
    return "".join(rng.choice(alphabet) for _ in range(n))


def _groups(rng: random.Random, text: str) -> list[str]:
    """Split a plate number into printed groups (letter/digit boundaries, or halves)."""
    if len(text) <= 3 or rng.random() < 0.25:
        return [text]
    cuts = [i for i in range(1, len(text)) if text[i].isdigit() != text[i - 1].isdigit()]
    if cuts and rng.random() < 0.7:
        cut = min(cuts, key=lambda i: abs(i - len(text) / 2))
    else:
        cut = len(text) // 2 + rng.choice((-1, 0, 0, 1))
        cut = min(max(1, cut), len(text) - 1)
    return [text[:cut], text[cut:]]


def _colour(rng: random.Random, light: bool) -> tuple[int, int, int]:
    if light:
        base = rng.randint(200, 255)
        return tuple(min(255, max(0, base + rng.randint(-40, 25))) for _ in range(3))
    base = rng.randint(0, 90)
    return tuple(min(255, max(0, base + rng.randint(-30, 60))) for _ in range(3))


@dataclass
class Rendered:
    image: Image.Image  # RGB plate
    text: str  # the plate number
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the number's characters
    group_boxes: list[tuple[str, tuple[int, int, int, int]]]
    # Small characters stacked beside the number (not part of it), if any.
    stacked_box: tuple[int, int, int, int] | None = None


def _draw_background(rng: random.Random, img: Image.Image, bg) -> None:
    d = ImageDraw.Draw(img)
    w, h = img.size
    if rng.random() < 0.5:  # vertical gradient
        top = np.array(bg, dtype=float)
        bottom = np.array(_colour(rng, True), dtype=float)
        if rng.random() < 0.3:
            bottom = np.array((rng.randint(120, 255), rng.randint(120, 255), rng.randint(150, 255)))
        for y in range(h):
            c = top + (bottom - top) * (y / h)
            d.line([(0, y), (w, y)], fill=tuple(int(v) for v in c))
    for _ in range(rng.randint(0, 4)):  # pictorial shapes (mountains, suns, waves)
        c = _colour(rng, rng.random() < 0.7)
        if rng.random() < 0.5:
            x, y = rng.randint(-w // 4, w), rng.randint(-h // 4, h)
            r = rng.randint(h // 6, h)
            d.ellipse([x - r, y - r, x + r, y + r], fill=c)
        else:
            pts = [(rng.randint(-20, w + 20), rng.randint(h // 3, h + 20)) for _ in range(3)]
            d.polygon(pts, fill=c)


def render_plate(
    rng: random.Random,
    *,
    text: str | None = None,
    state: str | None = None,
    main_font: ImageFont.ImageFont | None = None,
    text_font: ImageFont.ImageFont | None = None,
    size: tuple[int, int] = (320, 160),
    state_name: str | None = None,
    slogan: str | None = None,
    separator: str | None = None,
    clean: bool = False,
) -> Rendered:
    """Draw one plate.  ``clean=True`` gives a plain white plate (for tests and demos)."""
    main_fonts, text_fonts = font_files()
    w, h = size
    text = text or random_plate_text(rng)
    state = state or rng.choice(list(STATES))
    if clean:
        bg, fg = (250, 250, 250), (20, 30, 110)
    else:
        dark_plate = rng.random() < 0.08
        bg = _colour(rng, not dark_plate)
        fg = _colour(rng, dark_plate)
        if not dark_plate and rng.random() < 0.35:  # coloured characters
            fg = rng.choice(((20, 30, 120), (120, 20, 20), (10, 80, 30), (60, 20, 90)))
    img = Image.new("RGB", (w, h), bg)
    if not clean:
        _draw_background(rng, img, bg)
    d = ImageDraw.Draw(img)

    # Border and bolt holes
    if clean or rng.random() < 0.6:
        bw = max(1, int(h * (0.02 if clean else rng.uniform(0.005, 0.04))))
        d.rounded_rectangle(
            [bw, bw, w - bw - 1, h - bw - 1], radius=int(h * 0.06), outline=fg, width=bw
        )
    if not clean and rng.random() < 0.5:
        for bx in (w * 0.25, w * 0.75):
            r = h * 0.035
            d.ellipse([bx - r, h * 0.12 - r, bx + r, h * 0.12 + r], fill=_colour(rng, False))

    # State name on top
    name = state_name if state_name is not None else STATES[state]
    if not clean and rng.random() < 0.12:
        name = rng.choice(("", rng.choice(SLOGANS)))
    if not clean and rng.random() < 0.3:
        name = name.title()
    if name:
        sh = int(h * (0.16 if clean else rng.uniform(0.1, 0.22)))
        f = text_font or _font(str(rng.choice(list(text_fonts.values()))), max(6, sh))
        tw = d.textlength(name, font=f)
        scol = fg if clean or rng.random() < 0.5 else _colour(rng, bg[0] < 128)
        ty = int(h * (0.04 if clean else rng.uniform(0.01, 0.08)))
        d.text(((w - tw) / 2, ty), name, font=f, fill=scol)

    # Slogan at the bottom
    sl = slogan if slogan is not None else (rng.choice(SLOGANS) if rng.random() < 0.6 else "")
    if clean and slogan is None:
        sl = ""
    if sl:
        sh = int(h * rng.uniform(0.07, 0.14))
        f = text_font or _font(str(rng.choice(list(text_fonts.values()))), max(6, sh))
        tw = d.textlength(sl, font=f)
        d.text(((w - tw) / 2, h * rng.uniform(0.8, 0.88)), sl, font=f, fill=fg)

    # Stickers in the corners
    if not clean and rng.random() < 0.4:
        for _ in range(rng.randint(1, 2)):
            sw, shh = int(w * rng.uniform(0.08, 0.16)), int(h * rng.uniform(0.1, 0.2))
            sx = rng.choice((int(w * 0.03), w - sw - int(w * 0.03)))
            sy = rng.choice((int(h * 0.04), h - shh - int(h * 0.05)))
            col = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
            d.rectangle([sx, sy, sx + sw, sy + shh], fill=col)
            f = _font(str(rng.choice(list(text_fonts.values()))), max(6, int(shh * 0.6)))
            d.text((sx + 2, sy + 1), str(rng.randint(1, 99)), font=f, fill=_colour(rng, False))

    # The plate number
    groups = _groups(rng, text) if not clean else [text]
    if separator is not None:
        sep_kind = separator
    elif clean:
        sep_kind = " "
    else:
        sep_kind = rng.choice((" ", " ", "-", "-", ".", "icon", "icon", "gap"))
    ch = int(h * (0.42 if clean else rng.uniform(0.34, 0.52)))
    if main_font is not None:
        f = main_font
        squeeze = 1.0
    else:
        f = _font(str(rng.choice(list(main_fonts.values()))), ch)
        squeeze = 1.0 if clean else rng.uniform(0.6, 1.05)
    spacing = ch * (0.06 if clean else rng.uniform(0.0, 0.15))
    # US plate faces give every character the same width, so W and M come out as narrow
    # as the digits; about half the plates are drawn that way, one character cell at a
    # time.  Strokes are sometimes thickened (heavy, embossed faces).
    cell = ch * rng.uniform(0.4, 0.62) if not clean and main_font is None else None
    if cell is not None and rng.random() < 0.5:
        cell = None
    stroke = 0 if clean else rng.choice((0, 0, 0, 1, 2)) * max(1, ch // 40)
    # Render each group on its own canvas, squeeze horizontally, then paste.
    pieces = []
    for g in groups:
        left, top, right, bottom = f.getbbox(g)
        gw, gh = right - left, bottom - top
        pad = 2 + stroke
        if cell is not None:
            canvas = _cells(g, f, top, gh, pad, stroke, cell, spacing)
        else:
            extra = int(spacing * max(0, len(g) - 1))
            canvas = Image.new("L", (gw + extra + 2 * pad, gh + 2 * pad), 0)
            cd = ImageDraw.Draw(canvas)
            x = pad
            for c in g:
                cl, _ct, cr, _cb = f.getbbox(c)
                cd.text((x - cl, pad - top), c, font=f, fill=255, stroke_width=stroke)
                x += (cr - cl) + spacing
        canvas = canvas.crop(canvas.getbbox() or (0, 0, 1, 1))
        if squeeze != 1.0 and cell is None:
            canvas = canvas.resize((max(1, int(canvas.width * squeeze)), canvas.height))
        pieces.append((g, canvas))
    big_icon = sep_kind == "icon" and rng.random() < 0.3  # a figure as tall as the number
    sep_w = int(ch * (0.9 if big_icon else 0.35 if sep_kind in ("icon", "gap") else 0.3))
    total = sum(p.width for _, p in pieces) + sep_w * (len(pieces) - 1)
    max_h = max(p.height for _, p in pieces)
    if total > w * 0.92:  # too wide: shrink to fit
        k = w * 0.92 / total
        pieces = [
            (g, p.resize((max(1, int(p.width * k)), max(1, int(p.height * k))))) for g, p in pieces
        ]
        sep_w = int(sep_w * k)
        total = sum(p.width for _, p in pieces) + sep_w * (len(pieces) - 1)
        max_h = max(p.height for _, p in pieces)
    x0 = int((w - total) / 2 + (0 if clean else rng.uniform(-0.04, 0.04) * w))
    y_mid = h * (0.52 if clean else rng.uniform(0.47, 0.58))
    y0 = int(y_mid - max_h / 2)
    x = x0
    group_boxes = []
    emboss = not clean and rng.random() < 0.35
    for i, (g, p) in enumerate(pieces):
        py = y0 + (max_h - p.height)
        if emboss:
            shade = tuple(max(0, c - 60) for c in bg)
            img.paste(Image.new("RGB", p.size, shade), (x + 2, py + 2), p)
        img.paste(Image.new("RGB", p.size, fg), (x, py), p)
        group_boxes.append((g, (x, py, x + p.width, py + p.height)))
        x += p.width
        if i < len(pieces) - 1:
            cx, cy = x + sep_w / 2, y0 + max_h / 2
            if sep_kind == "-":
                d.rectangle(
                    [cx - sep_w * 0.3, cy - ch * 0.04, cx + sep_w * 0.3, cy + ch * 0.04], fill=fg
                )
            elif sep_kind == ".":
                r = ch * 0.06
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
            elif sep_kind == "icon":
                r = sep_w * (0.4 if big_icon else 0.45)
                col = fg if rng.random() < 0.5 else _colour(rng, False)
                shape = rng.choice(("circle", "star", "diamond", "state"))
                if shape == "circle":
                    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
                elif shape == "diamond":
                    d.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=col)
                elif shape == "star":
                    pts = []
                    for k in range(10):
                        a = math.pi / 2 + k * math.pi / 5
                        rr = r if k % 2 == 0 else r * 0.45
                        pts.append((cx + rr * math.cos(a), cy - rr * math.sin(a)))
                    d.polygon(pts, fill=col)
                else:
                    pts = [
                        (
                            cx + r * rng.uniform(0.5, 1) * math.cos(a),
                            cy + r * rng.uniform(0.5, 1) * math.sin(a),
                        )
                        for a in np.linspace(0, 2 * math.pi, 7)[:-1]
                    ]
                    d.polygon(pts, fill=col)
            x += sep_w
    bx0 = min(b[0] for _, b in group_boxes)
    by0 = min(b[1] for _, b in group_boxes)
    bx1 = max(b[2] for _, b in group_boxes)
    by1 = max(b[3] for _, b in group_boxes)
    stacked = None
    if not clean and rng.random() < 0.2:
        stacked = _draw_stacked(rng, img, (bx0, by0, bx1, by1), fg)
    return Rendered(img, text, (bx0, by0, bx1, by1), group_boxes, stacked)


def _cells(g: str, f, top: int, gh: int, pad: int, stroke: int, cell: float, spacing: float):
    """A group drawn in equal-width cells: wide glyphs squeezed into the cell, narrow
    ones centred in it."""
    cells = []
    for c in g:
        cl, _ct, cr, _cb = f.getbbox(c)
        glyph = Image.new("L", (cr - cl + 2 * pad, gh + 2 * pad), 0)
        ImageDraw.Draw(glyph).text((pad - cl, pad - top), c, font=f, fill=255, stroke_width=stroke)
        box = glyph.getbbox()
        if box:
            glyph = glyph.crop((box[0], 0, box[2], glyph.height))
        if glyph.width > cell:
            glyph = glyph.resize((max(1, int(cell)), glyph.height), Image.BILINEAR)
        cells.append(glyph)
    step = int(cell + spacing)
    canvas = Image.new("L", (step * len(cells) + 2 * pad, gh + 2 * pad), 0)
    for i, glyph in enumerate(cells):
        canvas.paste(glyph, (pad + i * step + (int(cell) - glyph.width) // 2, 0))
    return canvas


def _draw_stacked(rng: random.Random, img: Image.Image, box, fg):
    """Small letters stacked in a column beside the number (a plate type or series
    mark); readers must leave them out of the number."""
    x0, y0, x1, y1 = box
    ch = y1 - y0
    n = rng.choice((1, 2, 2, 2, 3))
    main_fonts, _ = font_files()
    cell = ch / n if n > 1 else ch * rng.uniform(0.4, 0.6)
    f = _font(str(rng.choice(list(main_fonts.values()))), max(5, int(cell * 1.05)))
    letters = "".join(rng.choice(LETTERS + DIGITS[:3]) for _ in range(n))
    gap = ch * rng.uniform(0.06, 0.3)
    col_w = max(f.getbbox(c)[2] - f.getbbox(c)[0] for c in letters)
    left = rng.random() < 0.5
    sx = x0 - gap - col_w if left else x1 + gap
    if sx < 2 or sx + col_w > img.width - 2:
        return None
    d = ImageDraw.Draw(img)
    top = y0 if n > 1 else y0 + (ch - cell) / 2
    for i, c in enumerate(letters):
        cl, ct, _cr, cb = f.getbbox(c)
        cy = top + i * cell + (cell - (cb - ct)) / 2
        d.text((sx - cl, cy - ct), c, font=f, fill=fg)
    return (int(sx), int(y0), int(sx + col_w), int(y1))


def _augment_crop(rng: random.Random, crop: Image.Image) -> Image.Image:
    """Damage a grey crop the way cameras do: angle, blur, low resolution, noise, JPEG."""
    w, h = crop.size
    # small rotation/shear
    if rng.random() < 0.7:
        angle = rng.uniform(-4, 4)
        shear = rng.uniform(-0.2, 0.2)
        crop = crop.rotate(
            angle, resample=Image.BILINEAR, expand=False, fillcolor=int(np.median(np.asarray(crop)))
        )
        crop = crop.transform(
            crop.size, Image.AFFINE, (1, shear, -shear * h / 2, 0, 1, 0), resample=Image.BILINEAR
        )
    # contrast / brightness
    arr = np.asarray(crop, dtype=np.float32)
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
        crop = crop.resize((max(4, int(w * target_h / h)), target_h), Image.BILINEAR)
    if rng.random() < 0.5:
        crop = crop.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.3)))
    arr = np.asarray(crop, dtype=np.float32)
    if rng.random() < 0.6:
        arr = arr + np.random.default_rng(rng.randint(0, 2**31)).normal(
            0, rng.uniform(2, 14), arr.shape
        )
    crop = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        buf = io.BytesIO()
        crop.save(buf, "JPEG", quality=rng.randint(15, 90))
        buf.seek(0)
        crop = Image.open(buf).convert("L")
    return crop


def training_sample(rng: random.Random) -> tuple[Image.Image, str]:
    """A grey crop around a plate number's line (or one group of it) and its label."""
    w = rng.randint(260, 360)
    plate = render_plate(rng, size=(w, int(w / rng.uniform(1.8, 2.2))))
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
        img = img.transform(img.size, Image.PERSPECTIVE, coeffs, Image.BILINEAR)
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
