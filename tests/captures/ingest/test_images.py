"""Metadata stripping of uploads: EXIF, GPS, XMP, IPTC, comments and PNG text go; the
compressed pixels stay exactly as sent (the container is rewritten, nothing is re-encoded)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from captures.ingest.images import ImageRejected, prepare_image

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 24_000_000}
GPS_IFD = 0x8825


def _photo(size=(320, 200)) -> Image.Image:
    """A photo-like picture: gradients and noise, so JPEG has real entropy-coded data."""
    noise = Image.effect_noise(size, 60).convert("L")
    gradient = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (noise, gradient, gradient.transpose(Image.Transpose.ROTATE_180)))


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"  # Make
    exif[0x0110] = "Model-X"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (45.0, 31.0, 12.0)
    gps[3], gps[4] = "W", (122.0, 40.0, 30.0)
    return exif


def _segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def _with_segments(jpeg: bytes, *segments: bytes) -> bytes:
    """``jpeg`` with extra segments right after SOI (where cameras put them)."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _jpeg(image: Image.Image | None = None, **save) -> bytes:
    out = io.BytesIO()
    (image or _photo()).save(out, format="JPEG", quality=90, **save)
    return out.getvalue()


def _pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_jpeg_metadata_goes_and_pixels_stay(progressive):
    xmp = _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>secret-xmp</x:xmpmeta>")
    iptc = _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04secret-iptc")
    comment = _segment(0xFE, b"secret-comment")
    sent = _with_segments(
        _jpeg(exif=_exif(), progressive=progressive, comment=b"another-comment"),
        xmp,
        iptc,
        comment,
    )
    sent += b"secret-after-eoi"
    original = Image.open(io.BytesIO(sent))
    assert original.getexif().get_ifd(GPS_IFD)  # the upload does carry a position
    assert b"SecretCameraMaker" in sent

    prepared = prepare_image(sent, field="vehicle_image", **LIMITS)

    kept = prepared.data
    for secret in (b"SecretCameraMaker", b"Model-X", b"secret-xmp", b"secret-iptc"):
        assert secret not in kept
    for secret in (b"secret-comment", b"another-comment", b"secret-after-eoi", b"Exif\x00"):
        assert secret not in kept
    stored = Image.open(io.BytesIO(kept))
    assert not stored.getexif()
    assert "comment" not in stored.info
    assert "exif" not in stored.info
    assert (stored.format, stored.size) == ("JPEG", (320, 200))
    assert (prepared.width, prepared.height) == (320, 200)
    assert stored.tobytes() == original.tobytes()  # the same pixels, bit for bit
    assert len(kept) < len(sent)


def test_jpeg_thumbnail_and_icc_profile_are_dropped():
    profile = _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"p" * 200)
    jfxx = _segment(0xE0, b"JFXX\x00\x10" + _jpeg(_photo((16, 16))))
    sent = _with_segments(_jpeg(), profile, jfxx)
    kept = prepare_image(sent, field="plate_image", **LIMITS).data
    assert b"ICC_PROFILE" not in kept
    assert b"JFXX" not in kept
    assert _pixels(kept) == _pixels(sent)


def test_a_turned_jpeg_is_stored_upright_without_exif():
    image = _photo((300, 100))
    sent = _jpeg(image, exif=_exif(orientation=6))  # 6: turn 90 degrees clockwise to show
    prepared = prepare_image(sent, field="vehicle_image", **LIMITS)
    stored = Image.open(io.BytesIO(prepared.data))
    assert stored.size == (100, 300)
    assert not stored.getexif()
    assert b"SecretCameraMaker" not in prepared.data


def test_png_text_exif_and_time_chunks_go_and_pixels_stay():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-text")
    info.add_itxt("Description", "secret-itxt", zip=True)
    info.add_text("Author", "secret-ztxt", zip=True)
    out = io.BytesIO()
    image = _photo().convert("RGBA")
    image.save(out, format="PNG", pnginfo=info, exif=_exif())
    sent = out.getvalue()
    assert b"eXIf" in sent
    assert b"secret-text" in sent

    kept = prepare_image(sent, field="plate_image", **LIMITS).data

    for secret in (b"secret-text", b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"SecretCameraMaker"):
        assert secret not in kept
    stored = Image.open(io.BytesIO(kept))
    assert stored.format == "PNG"
    assert not stored.getexif()
    assert not stored.text
    assert stored.tobytes() == Image.open(io.BytesIO(sent)).tobytes()


def _png_chunk(kind: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", value)


def test_damaged_images_are_refused_with_a_clear_error():
    jpeg = _jpeg()
    png = io.BytesIO()
    _photo().save(png, format="PNG")
    png_bytes = png.getvalue()
    bad_crc = png_bytes[:8] + _png_chunk(b"IHDR", png_bytes[16:29], crc=1) + png_bytes[33:]
    cases = {
        "jpeg cut in half": jpeg[: len(jpeg) // 2],
        "jpeg without its frame": jpeg[:2] + _segment(0xFE, b"x") + b"\xff\xd9",
        "jpeg segment longer than the file": jpeg[:2] + b"\xff\xe1\xff\xff" + b"x" * 10,
        "png cut in half": png_bytes[: len(png_bytes) // 2],
        "png with a wrong checksum": bad_crc,
    }
    for name, data in cases.items():
        with pytest.raises(ImageRejected) as refused:
            prepare_image(data, field="plate_image", **LIMITS)
        assert refused.value.status == 400, name
        assert "cannot be decoded" in refused.value.message, name


def test_pixel_limit_is_checked_on_the_header():
    sent = _jpeg(_photo((400, 300)))
    with pytest.raises(ImageRejected) as refused:
        prepare_image(sent, field="vehicle_image", max_bytes=10**7, max_pixels=100_000)
    assert refused.value.status == 413
    assert "pixels" in refused.value.message


def test_webp_is_still_re_encoded_without_metadata():
    out = io.BytesIO()
    _photo().save(out, format="WEBP", exif=_exif().tobytes())
    sent = out.getvalue()
    assert b"SecretCameraMaker" in sent
    prepared = prepare_image(sent, field="plate_image", **LIMITS)
    assert prepared.format == "WEBP"
    assert b"SecretCameraMaker" not in prepared.data
