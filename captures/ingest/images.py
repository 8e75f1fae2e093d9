"""Checking and re-encoding uploaded images: by their bytes, never by their file names."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class ImageRejected(Exception):
    """An upload that is not an acceptable image. ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class PreparedImage:
    data: bytes  # re-encoded, without metadata
    format: str  # JPEG, PNG or WEBP
    width: int
    height: int


def sniff_format(data: bytes) -> str | None:
    """The image format named by the file's magic number, or None when it is not an image."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
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


def prepare_image(data: bytes, *, field: str, max_bytes: int, max_pixels: int) -> PreparedImage:
    """Check one uploaded image and re-encode it (which drops EXIF, GPS, comments, profiles).

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
        try:
            image = Image.open(io.BytesIO(data), formats=[fmt])
        except Image.DecompressionBombError:
            raise ImageRejected(
                f"{field} is too many pixels; the limit is {max_pixels:,} pixels.", status=413
            ) from None
        except (OSError, SyntaxError, ValueError):
            raise ImageRejected(
                f"{field} looks like {fmt} but cannot be decoded: it is damaged or truncated."
            ) from None
        width, height = image.size
        if width < 1 or height < 1:
            raise ImageRejected(f"{field} has no pixels.")
        if width * height > max_pixels:
            raise ImageRejected(
                f"{field} is {width}x{height} pixels ({width * height:,}); the limit is "
                f"{max_pixels:,} pixels.",
                status=413,
            )
        try:
            image.seek(0)  # animated WebP/PNG: keep the first frame only
            image.load()
            upright = ImageOps.exif_transpose(image)  # keep the picture upright once EXIF is gone
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise ImageRejected(
                f"{field} looks like {fmt} but cannot be decoded: it is damaged or truncated."
            ) from None
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
