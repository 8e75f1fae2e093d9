"""Checking uploaded images and stripping their metadata: by their bytes, never by file names.

JPEG and PNG are stripped *losslessly*, by rewriting the container: the compressed picture
(JPEG's quantisation and Huffman tables, frame header and entropy-coded scans; PNG's IHDR,
PLTE, tRNS and IDAT chunks) is copied byte for byte, and every segment or chunk that can
carry metadata is dropped (JPEG: APP1 EXIF/XMP, APP2 ICC, APP3-APP13 incl. IPTC, APP15, COM
and anything after EOI; PNG: tEXt, zTXt, iTXt, eXIf, tIME, iCCP, private and animation
chunks). The pixels are unchanged and nothing is decoded. Pillow parses the header of what
is kept (format, size, the pixel limit). A JPEG whose EXIF turns the picture (orientation
other than 1) and WebP are decoded and re-encoded instead, as before: upright, without
metadata.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, ImageOps

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

# JPEG markers kept before and between scans: APP0 (JFIF, rewritten without its thumbnail;
# a JFXX thumbnail segment is dropped), APP14 (Adobe: the colour transform
# that decoding needs), frame headers (SOF0-SOF15 except DHT/JPG/DAC), DHT, DAC, DQT, DRI,
# DNL, DHP, EXP. Everything else with a length (APP1-APP13, APP15, COM, JPGn) is dropped.
_JPEG_KEEP = {0xEE, 0xC4, 0xCC, 0xDB, 0xDD, 0xDC, 0xDE, 0xDF} | {
    m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)
}
_JPEG_FRAMES = {m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)}
_SOS, _EOI, _SOI = 0xDA, 0xD9, 0xD8
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_APP0, _APP1 = 0xE0, 0xE1
# PNG chunks kept: the picture and what changes its pixels or colours when shown.
_PNG_KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB", b"sBIT"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageRejected(Exception):
    """An upload that is not an acceptable image. ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


class _Damaged(Exception):
    """The container is not well formed (truncated, bad lengths or checksums)."""


@dataclass(frozen=True)
class PreparedImage:
    data: bytes  # without metadata: the same compressed pixels, or re-encoded
    format: str  # JPEG, PNG or WEBP
    width: int
    height: int


def sniff_format(data: bytes) -> str | None:
    """The image format named by the file's magic number, or None when it is not an image."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(_PNG_SIGNATURE):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return "HEIF/AVIF"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    return None


def content_type_of(data: bytes) -> str:
    return ACCEPTED.get(sniff_format(data) or "", "application/octet-stream")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


# --- lossless stripping ---------------------------------------------------------------------


def _exif_orientation(segment: bytes) -> int:
    """The Orientation tag (0x0112) of an APP1 EXIF payload, 1 when absent or unreadable."""
    if not segment.startswith(b"Exif\x00\x00") or len(segment) < 14:
        return 1
    tiff = segment[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return 1
    try:
        (ifd,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        for i in range(count):
            tag, kind, _n, value = struct.unpack_from(order + "HHI4s", tiff, ifd + 2 + 12 * i)
            if tag == 0x0112 and kind == 3:
                return int(struct.unpack_from(order + "H", value)[0])
    except struct.error:
        return 1
    return 1


def _jfif_without_thumbnail(payload: bytes) -> bytes:
    """The APP0 JFIF segment with its version and density and no thumbnail; b"" for others."""
    if not payload.startswith(b"JFIF\x00") or len(payload) < 14:
        return b""
    body = payload[:12] + b"\x00\x00"  # identifier, version, units, density; thumbnail 0x0
    return b"\xff\xe0" + struct.pack(">H", len(body) + 2) + body


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """(marker code, position after it) of the marker at ``pos`` (0xFF, fill, code)."""
    end = len(data)
    if pos >= end or data[pos] != 0xFF:
        raise _Damaged
    while pos < end and data[pos] == 0xFF:
        pos += 1
    if pos >= end:
        raise _Damaged
    return data[pos], pos + 1


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at ``pos`` ends: the next marker that is not a
    stuffed 0xFF00, a restart marker (0xFFD0-0xFFD7) or fill (0xFF before a marker)."""
    match = _MARKER_IN_SCAN.search(data, pos)
    if match is None:
        raise _Damaged  # no EOI: truncated
    return match.start()


def strip_jpeg(data: bytes) -> tuple[bytes, int]:
    """(the JPEG without metadata segments, EXIF orientation). Raises _Damaged."""
    if not data.startswith(b"\xff\xd8"):
        raise _Damaged
    out = [b"\xff\xd8"]
    pos, orientation, frame, scanned = 2, 1, False, False
    while True:
        marker, pos = _next_marker(data, pos)
        if marker == _EOI:
            if not (frame and scanned):
                raise _Damaged
            out.append(b"\xff\xd9")  # anything after EOI (appended payloads) is dropped
            return b"".join(out), orientation
        if marker == _SOI or 0xD0 <= marker <= 0xD7 or marker == 0x01 or pos + 2 > len(data):
            raise _Damaged  # a second SOI, a restart marker outside a scan, or truncated
        (length,) = struct.unpack_from(">H", data, pos)
        segment_end = pos + length
        if length < 2 or segment_end > len(data):
            raise _Damaged
        frame = frame or marker in _JPEG_FRAMES
        if marker == _SOS:
            if not frame:
                raise _Damaged
            scanned = True
            scan_end = _scan_end(data, segment_end)
            out.append(data[pos - 2 : scan_end])  # the scan header and its data, as they are
            pos = scan_end
            continue
        if marker == _APP1:
            turned = _exif_orientation(data[pos + 2 : segment_end])
            orientation = turned if turned != 1 else orientation
        elif marker == _APP0:
            out.append(_jfif_without_thumbnail(data[pos + 2 : segment_end]))
        elif marker in _JPEG_KEEP:
            out.append(data[pos - 2 : segment_end])
        pos = segment_end


def strip_png(data: bytes) -> bytes:
    """The PNG without text, EXIF, time, profile, private or animation chunks. Raises _Damaged."""
    if not data.startswith(_PNG_SIGNATURE):
        raise _Damaged
    out = [_PNG_SIGNATURE]
    pos, end = len(_PNG_SIGNATURE), len(data)
    first = True
    while True:
        if pos + 12 > end:
            raise _Damaged  # no IEND: truncated
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        chunk_end = pos + 12 + length
        if length > 0x7FFFFFFF or chunk_end > end:
            raise _Damaged
        (crc,) = struct.unpack_from(">I", data, chunk_end - 4)
        if zlib.crc32(data[pos + 4 : chunk_end - 4]) != crc:
            raise _Damaged
        if first and kind != b"IHDR":
            raise _Damaged
        first = False
        if kind in _PNG_KEEP:
            out.append(data[pos:chunk_end])
        pos = chunk_end
        if kind == b"IEND":
            return b"".join(out)  # anything after IEND is dropped


# --- checking ---------------------------------------------------------------------------------


def _undecodable(field: str, fmt: str) -> ImageRejected:
    return ImageRejected(
        f"{field} looks like {fmt} but cannot be decoded: it is damaged or truncated."
    )


def _open(data: bytes, fmt: str, *, field: str, max_pixels: int) -> Image.Image:
    """Pillow's header parse of ``data``: format and size checked, nothing decoded yet."""
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError:
        raise ImageRejected(
            f"{field} is too many pixels; the limit is {max_pixels:,} pixels.", status=413
        ) from None
    except (OSError, SyntaxError, ValueError, struct.error):
        raise _undecodable(field, fmt) from None
    if image.format != fmt:
        raise _undecodable(field, fmt)
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected(f"{field} has no pixels.")
    if width * height > max_pixels:
        raise ImageRejected(
            f"{field} is {width}x{height} pixels ({width * height:,}); the limit is "
            f"{max_pixels:,} pixels.",
            status=413,
        )
    return image


def prepare_image(data: bytes, *, field: str, max_bytes: int, max_pixels: int) -> PreparedImage:
    """Check one uploaded image and strip its metadata (EXIF, GPS, comments, profiles).

    Raises ImageRejected with a plain sentence naming ``field`` and what to do.
    """
    if not data:
        raise ImageRejected(f"{field} is empty: send the image file's bytes.")
    if len(data) > max_bytes:
        raise ImageRejected(
            f"{field} is {_mb(len(data))}; the largest accepted image is {_mb(max_bytes)}.",
            status=413,
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected(
            f"{field} is not an image: its bytes are not JPEG, PNG or WebP "
            "(the file name and declared type are not trusted)."
        )
    if fmt not in ACCEPTED:
        raise ImageRejected(
            f"{field} is a {fmt} image; send JPEG, PNG or WebP.",
            status=415,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        orientation = 1
        try:
            if fmt == "JPEG":
                stripped, orientation = strip_jpeg(data)
            elif fmt == "PNG":
                stripped = strip_png(data)
            else:
                stripped = data
        except _Damaged:
            raise _undecodable(field, fmt) from None
        image = _open(stripped, fmt, field=field, max_pixels=max_pixels)
        width, height = image.size
        if fmt != "WEBP" and orientation == 1:
            return PreparedImage(data=stripped, format=fmt, width=width, height=height)
        # WebP, or a JPEG that EXIF turns: decode, turn upright, re-encode without metadata.
        try:
            original = _open(data, fmt, field=field, max_pixels=max_pixels)
            original.seek(0)  # animated WebP: keep the first frame only
            original.load()
            upright = ImageOps.exif_transpose(original)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise _undecodable(field, fmt) from None
    return PreparedImage(data=_encode(upright, fmt), format=fmt, width=width, height=height)


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=92, optimize=True)
    elif fmt == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, format="PNG", optimize=False)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, format="WEBP", quality=90)
    return out.getvalue()
