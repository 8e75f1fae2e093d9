"""Synthetic US licence plates and vehicle photos, drawn with Pillow: the one plate renderer.

Not part of the running portal (tests/test_layout.py checks that no runtime module imports
it). Used by the tests, the camera simulator (``captures.synthetic.simulate``, hence the demo
data and the ingest benchmark) and the recognizer's training (``captures.reading.training``).
State names and plate formats come from the reader's own tables (``captures.reading.states``,
``captures.reading.patterns``), so what is drawn and what is read agree; the reader never
imports this module. No photograph of a real plate or vehicle is used.

    plate = render_plate(random.Random(7))            # a varied design, as training sees them
    plate = render_plate(rng, text="7ABC123", state="CA", clean=True)  # plain, for OCR tests
    photo = degrade(plate.image, rng=rng, difficulty=0.4)  # camera damage on the whole plate
    scene = render_vehicle(photo, rng=rng)            # the plate on a car's rear
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from captures.reading.patterns import GENERIC_PATTERNS, STATE_PATTERNS
from captures.reading.states import EXTRA_NAMES, STATES

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
_PLATE_TEXT = re.compile(r"[A-Z0-9]+")
PLATE_SIZE = (360, 180)  # 12 x 6 inches at 30 px/inch; training draws its own sizes
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


def any_font(
    rng: random.Random, fonts: dict[str, Path], size: int
) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """One of ``fonts`` at ``size``; Pillow's own face on a machine without the Debian fonts
    (tests and demos still run there; training refuses to, see ``missing_fonts``)."""
    if not fonts:
        return ImageFont.load_default(size=size)
    return _font(str(rng.choice(list(fonts.values()))), size)


def random_plate_text(rng: random.Random, *, state: str | None = None) -> str:
    """A plate number (letters and digits only) in one of ``state``'s formats; without a
    state, mostly some state's format and sometimes a vanity string."""
    if state is not None:
        pattern = rng.choice(STATE_PATTERNS.get(state) or GENERIC_PATTERNS)
        return _fill(rng, pattern)
    r = rng.random()
    if r < 0.75:
        return _fill(rng, rng.choice(rng.choice(list(STATE_PATTERNS.values()))))
    n = rng.choice((2, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8))
    alphabet = PLATE_LETTERS * 3 + DIGITS if rng.random() < 0.6 else PLATE_LETTERS + DIGITS
    return "".join(rng.choice(alphabet) for _ in range(n))


def _fill(rng: random.Random, pattern: str) -> str:
    return "".join(rng.choice(PLATE_LETTERS if c == "L" else DIGITS) for c in pattern)


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
        r, g, b = (min(255, max(0, base + rng.randint(-40, 25))) for _ in range(3))
    else:
        base = rng.randint(0, 90)
        r, g, b = (min(255, max(0, base + rng.randint(-30, 60))) for _ in range(3))
    return r, g, b


@dataclass
class Rendered:
    image: Image.Image  # RGB plate
    text: str  # the plate number: A-Z and 0-9 only
    state: str  # the two-letter code of the state whose name is drawn (or left off)
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


_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_Colour = tuple[int, int, int]
_Box = tuple[int, int, int, int]


def render_plate(
    rng: random.Random,
    *,
    text: str | None = None,
    state: str | None = None,
    main_font: ImageFont.ImageFont | None = None,
    text_font: ImageFont.ImageFont | None = None,
    size: tuple[int, int] = PLATE_SIZE,
    state_name: str | None = None,
    slogan: str | None = None,
    separator: str | None = None,
    clean: bool = False,
    design: str = "varied",
    open_four: float = 0.0,
) -> Rendered:
    """Draw one plate: a random design (colours, pictures, stickers, separators, icons,
    equal-width cells, stacked letters), or with ``clean=True`` a plain white plate with the
    state's name above the number.  Everything not given is drawn from ``rng``, so the same
    seed gives the same plate.

    ``design="held-out"`` draws the reading tests' plate instead: a yellow plate in Pillow's
    bundled face (Aileron, which training never uses), the state's name (``state_name``,
    default none) *below* the number, no graphics; nothing is drawn from ``rng``, and
    ``main_font`` sets the number's face and size.  The recognizer is tested on a face and
    layout it never trained on, from the same renderer as everything else.

    ``open_four`` is the chance that a number with a 4 draws it open at the top, as
    California's plate face does (no font in ``FONT_PACKAGES`` draws it so, and a reader that
    never saw it reads it as an L); 1.0 draws every 4 so, also on the held-out design.  At 0
    (the default) nothing more is drawn from ``rng``: the plates are those of earlier runs.
    """
    if design == "held-out" and text == "":  # a blank plate: border only
        return _render_held_out("", state or "", size=size, state_name=None, main_font=None)
    if text is not None and not _PLATE_TEXT.fullmatch(text):
        raise ValueError(f"A plate number is A-Z and 0-9 only, not {text!r}.")
    if design == "held-out":
        return _render_held_out(
            text or "ABC123",
            state or "",
            size=size,
            state_name=state_name,
            main_font=main_font,
            open_four=open_four >= 1.0,
        )
    if design != "varied":
        raise ValueError(f"design is 'varied' or 'held-out', not {design!r}.")
    # Every step below draws from ``rng`` in a fixed order: the committed recognizer weights
    # were trained on these plates, so reordering any two steps changes the training data.
    main_fonts, text_fonts = font_files()
    text = text or random_plate_text(rng)
    state = state or rng.choice(list(STATES))
    plate = _PlateCanvas.start(rng, size, clean=clean)
    plate.draw_border_and_bolts()
    name = _state_line(rng, state_name if state_name is not None else STATES[state], clean=clean)
    if name:
        plate.draw_state_name(name, text_font, text_fonts)
    plate.draw_slogan(_slogan_line(rng, slogan, clean=clean), text_font, text_fonts)
    if not clean and rng.random() < 0.4:
        plate.draw_stickers(text_fonts)
    style = _number_style(
        rng,
        text,
        plate.height,
        main_font=main_font,
        main_fonts=main_fonts,
        separator=separator,
        clean=clean,
    )
    if open_four > 0 and "4" in text:
        style = dataclasses.replace(style, open_four=rng.random() < open_four)
    group_boxes = plate.draw_number(style)
    box = _enclosing(group_boxes)
    stacked = None
    if not clean and rng.random() < 0.2:
        stacked = _draw_stacked(rng, plate.image, box, plate.fg)
    return Rendered(plate.image, text, state, box, group_boxes, stacked)


HELD_OUT_BACKGROUND = (246, 226, 120)
HELD_OUT_INK = (15, 15, 15)


def _render_held_out(
    text: str,
    state: str,
    *,
    size: tuple[int, int],
    state_name: str | None,
    main_font: ImageFont.ImageFont | None,
    open_four: bool = False,
) -> Rendered:
    """The held-out design (see ``render_plate``): deterministic, no random draws."""
    w, h = size
    img = Image.new("RGB", size, HELD_OUT_BACKGROUND)
    d = ImageDraw.Draw(img)
    d.rectangle([3, 3, w - 4, h - 4], outline=HELD_OUT_INK, width=3)
    if not text:
        return Rendered(img, text, state, (0, 0, 0, 0), [])
    font = main_font or ImageFont.load_default(size=round(h * 0.413))
    tw = d.textlength(text, font=font)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    x, y = (w - tw) / 2, h * 0.42 - (bottom + top) / 2
    d.text((x, y), text, font=font, fill=HELD_OUT_INK)
    for i, c in enumerate(text if open_four else ""):
        if c == "4":  # the font's 4 painted over, the open one drawn in its place
            pen = x + d.textlength(text[:i], font=font)
            fl, ft, fr, fb = font.getbbox("4")
            d.rectangle(
                [pen + fl - 1, y + ft - 1, pen + fr + 1, y + fb + 1], fill=HELD_OUT_BACKGROUND
            )
            draw_open_four(d, (pen, y), font, fill=HELD_OUT_INK)
    box = (int(x + left), int(y + top), int(x + right), int(y + bottom))
    if state_name:
        small = ImageFont.load_default(size=int(h * 0.15))
        sw = d.textlength(state_name, font=small)
        d.text(((w - sw) / 2, h * 0.72), state_name, font=small, fill=HELD_OUT_INK)
    return Rendered(img, text, state, box, [(text, box)])


def _plate_colours(rng: random.Random, *, clean: bool) -> tuple[_Colour, _Colour]:
    """Background and ink: mostly dark ink on a light plate, sometimes the other way round,
    and a third of the light plates have coloured characters."""
    if clean:
        return (250, 250, 250), (20, 30, 110)
    dark_plate = rng.random() < 0.08
    bg = _colour(rng, not dark_plate)
    fg = _colour(rng, dark_plate)
    if not dark_plate and rng.random() < 0.35:  # coloured characters
        fg = rng.choice(((20, 30, 120), (120, 20, 20), (10, 80, 30), (60, 20, 90)))
    return bg, fg


def _state_line(rng: random.Random, name: str, *, clean: bool) -> str:
    """The line above the number: the state's name, sometimes a slogan or nothing instead
    (readers must not rely on it), sometimes in title case."""
    if not clean and rng.random() < 0.12:
        name = rng.choice(("", rng.choice(SLOGANS)))
    if not clean and rng.random() < 0.3:
        name = name.title()
    return name


def _slogan_line(rng: random.Random, slogan: str | None, *, clean: bool) -> str:
    """The line below the number, or "" for none."""
    # Drawn on clean plates too and then dropped: skipping the draws would change every
    # clean plate drawn after this point (test images, demo data) for no gain.
    line = slogan if slogan is not None else (rng.choice(SLOGANS) if rng.random() < 0.6 else "")
    if clean and slogan is None:
        line = ""
    return line


@dataclass(frozen=True)
class _NumberStyle:
    """How the plate number is drawn; ``_number_style`` draws the fields in this order."""

    groups: list[str]  # the number split into printed groups
    separator: str  # what stands between groups: " ", "-", ".", "icon" or "gap"
    char_h: int  # character height in pixels
    font: _Font
    squeeze: float  # horizontal scale of each group (condensed faces)
    spacing: float  # extra pixels between characters
    cell: float | None  # equal-width character cells of this width, or proportional
    stroke: int  # stroke thickening (heavy, embossed faces)
    open_four: bool = False  # 4s drawn open at the top (California's face), not the font's


def _number_style(
    rng: random.Random,
    text: str,
    plate_h: int,
    *,
    main_font: ImageFont.ImageFont | None,
    main_fonts: dict[str, Path],
    separator: str | None,
    clean: bool,
) -> _NumberStyle:
    groups = _groups(rng, text) if not clean else [text]
    if separator is not None:
        sep_kind = separator
    elif clean:
        sep_kind = " "
    else:
        sep_kind = rng.choice((" ", " ", "-", "-", ".", "icon", "icon", "gap"))
    ch = int(plate_h * (0.42 if clean else rng.uniform(0.34, 0.52)))
    f: _Font
    if main_font is not None:
        f = main_font
        squeeze = 1.0
    else:
        f = any_font(rng, main_fonts, ch)
        squeeze = 1.0 if clean else rng.uniform(0.6, 1.05)
    spacing = ch * (0.06 if clean else rng.uniform(0.0, 0.15))
    # US plate faces give every character the same width, so W and M come out as narrow
    # as the digits; about half the plates are drawn that way, one character cell at a
    # time.  Strokes are sometimes thickened (heavy, embossed faces).
    cell = ch * rng.uniform(0.4, 0.62) if not clean and main_font is None else None
    if cell is not None and rng.random() < 0.5:
        cell = None
    stroke = 0 if clean else rng.choice((0, 0, 0, 1, 2)) * max(1, ch // 40)
    return _NumberStyle(groups, sep_kind, ch, f, squeeze, spacing, cell, stroke)


def _group_canvas(group: str, style: _NumberStyle) -> Image.Image:
    """One group of the number as a tight grey mask (255 = ink), squeezed as the style says."""
    f = style.font
    left, top, right, bottom = (int(v) for v in f.getbbox(group))
    gw, gh = right - left, bottom - top
    pad = 2 + style.stroke
    if style.cell is not None:
        canvas = _cells(
            group, f, top, gh, pad, style.stroke, style.cell, style.spacing, style.open_four
        )
    else:
        extra = int(style.spacing * max(0, len(group) - 1))
        canvas = Image.new("L", (gw + extra + 2 * pad, gh + 2 * pad), 0)
        cd = ImageDraw.Draw(canvas)
        pen: float = pad
        for c in group:
            cl, _ct, cr, _cb = (int(v) for v in f.getbbox(c))
            _draw_char(cd, (pen - cl, pad - top), c, f, style.stroke, style.open_four)
            pen += (cr - cl) + style.spacing
    canvas = canvas.crop(canvas.getbbox() or (0, 0, 1, 1))
    if style.squeeze != 1.0 and style.cell is None:
        canvas = canvas.resize((max(1, int(canvas.width * style.squeeze)), canvas.height))
    return canvas


def _fit_width(
    pieces: list[tuple[str, Image.Image]], sep_w: int, plate_w: int
) -> tuple[list[tuple[str, Image.Image]], int, int, int]:
    """(pieces, separator width, total width, tallest piece), shrunk to fit if too wide."""
    total = sum(p.width for _, p in pieces) + sep_w * (len(pieces) - 1)
    max_h = max(p.height for _, p in pieces)
    if total > plate_w * 0.92:
        k = plate_w * 0.92 / total
        pieces = [
            (g, p.resize((max(1, int(p.width * k)), max(1, int(p.height * k))))) for g, p in pieces
        ]
        sep_w = int(sep_w * k)
        total = sum(p.width for _, p in pieces) + sep_w * (len(pieces) - 1)
        max_h = max(p.height for _, p in pieces)
    return pieces, sep_w, total, max_h


def _enclosing(group_boxes: list[tuple[str, _Box]]) -> _Box:
    return (
        min(b[0] for _, b in group_boxes),
        min(b[1] for _, b in group_boxes),
        max(b[2] for _, b in group_boxes),
        max(b[3] for _, b in group_boxes),
    )


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """The corners of a five-pointed star of outer radius ``r``."""
    pts = []
    for k in range(10):
        a = math.pi / 2 + k * math.pi / 5
        rr = r if k % 2 == 0 else r * 0.45
        pts.append((cx + rr * math.cos(a), cy - rr * math.sin(a)))
    return pts


@dataclass
class _PlateCanvas:
    """A plate being drawn: the image, its pen, its colours and the random generator."""

    rng: random.Random
    image: Image.Image
    draw: ImageDraw.ImageDraw
    bg: _Colour
    fg: _Colour
    clean: bool

    @classmethod
    def start(cls, rng: random.Random, size: tuple[int, int], *, clean: bool) -> _PlateCanvas:
        """A blank plate in its colours, with pictures behind the text unless clean."""
        w, h = size
        bg, fg = _plate_colours(rng, clean=clean)
        img = Image.new("RGB", (w, h), bg)
        if not clean:
            _draw_background(rng, img, bg)
        return cls(rng, img, ImageDraw.Draw(img), bg, fg, clean)

    @property
    def width(self) -> int:
        return self.image.size[0]

    @property
    def height(self) -> int:
        return self.image.size[1]

    def draw_border_and_bolts(self) -> None:
        rng, d, w, h, fg = self.rng, self.draw, self.width, self.height, self.fg
        if self.clean or rng.random() < 0.6:
            bw = max(1, int(h * (0.02 if self.clean else rng.uniform(0.005, 0.04))))
            d.rounded_rectangle(
                [bw, bw, w - bw - 1, h - bw - 1], radius=int(h * 0.06), outline=fg, width=bw
            )
        if not self.clean and rng.random() < 0.5:
            for bx in (w * 0.25, w * 0.75):
                r = h * 0.035
                d.ellipse([bx - r, h * 0.12 - r, bx + r, h * 0.12 + r], fill=_colour(rng, False))

    def draw_state_name(
        self, name: str, text_font: ImageFont.ImageFont | None, text_fonts: dict[str, Path]
    ) -> None:
        rng, d, w, h, clean = self.rng, self.draw, self.width, self.height, self.clean
        sh = int(h * (0.16 if clean else rng.uniform(0.1, 0.22)))
        f = text_font or any_font(rng, text_fonts, max(6, sh))
        tw = d.textlength(name, font=f)
        scol = self.fg if clean or rng.random() < 0.5 else _colour(rng, self.bg[0] < 128)
        ty = int(h * (0.04 if clean else rng.uniform(0.01, 0.08)))
        d.text(((w - tw) / 2, ty), name, font=f, fill=scol)

    def draw_slogan(
        self, line: str, text_font: ImageFont.ImageFont | None, text_fonts: dict[str, Path]
    ) -> None:
        if not line:
            return
        rng, d, w, h = self.rng, self.draw, self.width, self.height
        sh = int(h * rng.uniform(0.07, 0.14))
        f = text_font or any_font(rng, text_fonts, max(6, sh))
        tw = d.textlength(line, font=f)
        d.text(((w - tw) / 2, h * rng.uniform(0.8, 0.88)), line, font=f, fill=self.fg)

    def draw_stickers(self, text_fonts: dict[str, Path]) -> None:
        """One or two registration stickers in the corners, each with a number on it."""
        rng, d, w, h = self.rng, self.draw, self.width, self.height
        for _ in range(rng.randint(1, 2)):
            sw, shh = int(w * rng.uniform(0.08, 0.16)), int(h * rng.uniform(0.1, 0.2))
            sx = rng.choice((int(w * 0.03), w - sw - int(w * 0.03)))
            sy = rng.choice((int(h * 0.04), h - shh - int(h * 0.05)))
            col = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
            d.rectangle([sx, sy, sx + sw, sy + shh], fill=col)
            f = any_font(rng, text_fonts, max(6, int(shh * 0.6)))
            d.text((sx + 2, sy + 1), str(rng.randint(1, 99)), font=f, fill=_colour(rng, False))

    def draw_number(self, style: _NumberStyle) -> list[tuple[str, _Box]]:
        """Paste the number's groups, separators between them; returns each group's box."""
        # Each group is rendered on its own canvas, squeezed horizontally, then pasted.
        rng, w, h, ch = self.rng, self.width, self.height, style.char_h
        pieces = [(g, _group_canvas(g, style)) for g in style.groups]
        big_icon = style.separator == "icon" and rng.random() < 0.3  # as tall as the number
        kind = style.separator
        sep_w = int(ch * (0.9 if big_icon else 0.35 if kind in ("icon", "gap") else 0.3))
        pieces, sep_w, total, max_h = _fit_width(pieces, sep_w, w)
        x0 = int((w - total) / 2 + (0 if self.clean else rng.uniform(-0.04, 0.04) * w))
        y_mid = h * (0.52 if self.clean else rng.uniform(0.47, 0.58))
        y0 = int(y_mid - max_h / 2)
        x = x0
        group_boxes = []
        emboss = not self.clean and rng.random() < 0.35
        for i, (g, p) in enumerate(pieces):
            py = y0 + (max_h - p.height)
            if emboss:
                shade = tuple(max(0, c - 60) for c in self.bg)
                self.image.paste(Image.new("RGB", p.size, shade), (x + 2, py + 2), p)
            self.image.paste(Image.new("RGB", p.size, self.fg), (x, py), p)
            group_boxes.append((g, (x, py, x + p.width, py + p.height)))
            x += p.width
            if i < len(pieces) - 1:
                cx, cy = x + sep_w / 2, y0 + max_h / 2
                self.draw_separator(kind, cx, cy, sep_w=sep_w, char_h=ch, big_icon=big_icon)
                x += sep_w
        return group_boxes

    def draw_separator(
        self, kind: str, cx: float, cy: float, *, sep_w: int, char_h: int, big_icon: bool
    ) -> None:
        """A dash, a dot or an icon centred on (cx, cy); a space or gap draws nothing."""
        d, ch, fg = self.draw, char_h, self.fg
        if kind == "-":
            d.rectangle(
                [cx - sep_w * 0.3, cy - ch * 0.04, cx + sep_w * 0.3, cy + ch * 0.04], fill=fg
            )
        elif kind == ".":
            r = ch * 0.06
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
        elif kind == "icon":
            self.draw_icon(cx, cy, sep_w * (0.4 if big_icon else 0.45))

    def draw_icon(self, cx: float, cy: float, r: float) -> None:
        """A circle, star, diamond or rough state outline of radius ``r``."""
        rng, d = self.rng, self.draw
        col = self.fg if rng.random() < 0.5 else _colour(rng, False)
        shape = rng.choice(("circle", "star", "diamond", "state"))
        if shape == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
        elif shape == "diamond":
            d.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=col)
        elif shape == "star":
            d.polygon(_star(cx, cy, r), fill=col)
        else:
            pts = [
                (
                    cx + r * rng.uniform(0.5, 1) * math.cos(a),
                    cy + r * rng.uniform(0.5, 1) * math.sin(a),
                )
                for a in np.linspace(0, 2 * math.pi, 7)[:-1]
            ]
            d.polygon(pts, fill=col)


def _cells(
    g: str,
    f,
    top: int,
    gh: int,
    pad: int,
    stroke: int,
    cell: float,
    spacing: float,
    open_four: bool = False,
):
    """A group drawn in equal-width cells: wide glyphs squeezed into the cell, narrow
    ones centred in it."""
    cells = []
    for c in g:
        cl, _ct, cr, _cb = f.getbbox(c)
        glyph = Image.new("L", (cr - cl + 2 * pad, gh + 2 * pad), 0)
        _draw_char(ImageDraw.Draw(glyph), (pad - cl, pad - top), c, f, stroke, open_four)
        box = glyph.getbbox()
        if box:
            glyph = glyph.crop((box[0], 0, box[2], glyph.height))
        if glyph.width > cell:
            glyph = glyph.resize((max(1, int(cell)), glyph.height), Image.Resampling.BILINEAR)
        cells.append(glyph)
    step = int(cell + spacing)
    canvas = Image.new("L", (step * len(cells) + 2 * pad, gh + 2 * pad), 0)
    for i, glyph in enumerate(cells):
        canvas.paste(glyph, (pad + i * step + (int(cell) - glyph.width) // 2, 0))
    return canvas


def _draw_char(draw, xy, c: str, f, stroke: int, open_four: bool) -> None:
    """One character of the number in white on a mask, the 4 open at the top if asked."""
    if c == "4" and open_four:
        draw_open_four(draw, xy, f, fill=255, stroke=stroke)
    else:
        draw.text(xy, c, font=f, fill=255, stroke_width=stroke)


def draw_open_four(draw, xy, font, *, fill, stroke: int = 0) -> None:
    """A 4 open at the top, as California's plate face draws it, in the box the font's own
    4 takes at text origin ``xy``: a short stroke slanting down to the bar, the bar, and the
    upright crossing the bar, its top not joined to the slanted stroke.  Its proportions
    come from the box alone (no random draws), so every plate of one face draws it alike."""
    fl, ft, fr, fb = font.getbbox("4")
    x0, y0 = xy[0] + fl, xy[1] + ft
    w, h = max(2, fr - fl), max(4, fb - ft)
    # As heavy as the face, but never so heavy that the top closes (a third of the width).
    stem = min(_stem_width(font) + 2 * stroke, max(1, round(w * 0.34)))
    half = stem / 2
    bar_y = y0 + h * 0.68
    upright_x = x0 + w * 0.74
    # The slanted stroke: from the top, a fifth of the way in, down to the bar's left end.
    draw.polygon(
        [
            (x0 + w * 0.22 - half, y0),
            (x0 + w * 0.22 + half, y0),
            (x0 + half * 2, bar_y),
            (x0, bar_y),
        ],
        fill=fill,
    )
    draw.rectangle([x0, bar_y - half, x0 + w, bar_y + half], fill=fill)
    draw.rectangle([upright_x - half, y0, upright_x + half, y0 + h], fill=fill)


@lru_cache(maxsize=512)
def _stem_width(font) -> int:
    """The width of the font's own 4 below its bar (its upright), so a heavy face draws a
    heavy open 4 and a light face a light one (once per face and size: ``_font`` caches the
    faces)."""
    fl, ft, fr, fb = font.getbbox("4")
    w, h = max(2, fr - fl), max(4, fb - ft)
    mask = Image.new("L", (w + 4, h + 4), 0)
    ImageDraw.Draw(mask).text((2 - fl, 2 - ft), "4", font=font, fill=255)
    # Below the bar, above any serif at the foot.
    rows = np.asarray(mask)[2 + int(h * 0.8) : 2 + int(h * 0.9)] > 127
    widths = [int(r.sum()) for r in rows if r.any()]
    return max(1, int(np.median(widths))) if widths else max(1, round(h * 0.12))


def _draw_stacked(rng: random.Random, img: Image.Image, box, fg):
    """Small letters stacked in a column beside the number (a plate type or series
    mark); readers must leave them out of the number."""
    x0, y0, x1, y1 = box
    ch = y1 - y0
    n = rng.choice((1, 2, 2, 2, 3))
    main_fonts, _ = font_files()
    cell = ch / n if n > 1 else ch * rng.uniform(0.4, 0.6)
    f = any_font(rng, main_fonts, max(5, int(cell * 1.05)))
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


def degrade(image: Image.Image, *, rng: random.Random, difficulty: float) -> Image.Image:
    """A whole plate as a roadside camera sees it: dirt, angle, perspective, blur, sensor
    noise and exposure, stronger as ``difficulty`` goes from 0 to 1 (the image grows by a
    margin of the car around the plate)."""
    d = max(0.0, min(1.0, difficulty))
    image = image.copy()
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


def render_vehicle(plate_image: Image.Image, *, rng: random.Random) -> Image.Image:
    """A simple 640x400 rear view of a car with the plate mounted on it."""
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
