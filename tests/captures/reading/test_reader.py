"""The committed recognizer, loaded offline through easyocr, reads rendered plates."""

from __future__ import annotations

import pytest

from captures.reading.engine import MODELS_DIR, PLATE_MODEL
from tests.factories import draw_plate

pytestmark = pytest.mark.ocr

PLATES = [
    ("7KDM482", "CALIFORNIA"),
    ("HXT2291", "NEW YORK"),
    ("482VNK", "KANSAS"),
    ("BF3017", "VIRGINIA"),
    ("K4M9P", ""),
    ("5TRW38", "OREGON"),
]


def test_committed_weights_are_loaded_through_easyocr(plate_reader):
    assert (MODELS_DIR / f"{PLATE_MODEL}.pth").stat().st_size > 10_000_000
    assert plate_reader.model == "plate-v2"
    import sys
    from pathlib import Path

    import easyocr_en_models
    import torch

    reader = plate_reader.engine.reader
    assert reader.download_enabled is False
    # easyocr imported our network module from its user_network directory ...
    # (the module may have been imported by an earlier reader of another directory: same file)
    module_file = Path(sys.modules[PLATE_MODEL].__file__)
    ours_there = Path(reader.user_network_directory) / module_file.name
    assert ours_there.read_bytes() == module_file.read_bytes()
    # ... and loaded our weights, not english_g2's (the last convolution was trained).
    key = "FeatureExtraction.ConvNet.18.weight"
    ours = torch.load(MODELS_DIR / f"{PLATE_MODEL}.pth", map_location="cpu")["module." + key]
    stock = torch.load(Path(easyocr_en_models.model_dir()) / "english_g2.pth", map_location="cpu")[
        "module." + key
    ]
    loaded = reader.recognizer.state_dict()[key]
    assert torch.equal(loaded, ours)
    assert not torch.equal(loaded, stock)


@pytest.mark.parametrize(("text", "state_name"), PLATES)
def test_rendered_plates_are_read_exactly(plate_reader, text, state_name):
    reading = plate_reader.read_plate_image(draw_plate(text, state_name=state_name))
    assert reading.plate == text
    assert 0 < reading.confidence <= 1
    assert reading.model == "plate-v2"
    assert reading.box is None


def test_state_is_read_from_the_plate(plate_reader):
    reading = plate_reader.read_plate_image(draw_plate("7KDM482", state_name="CALIFORNIA"))
    assert reading.state == "CA"
    assert 0 < reading.state_confidence <= 1
    assert plate_reader.read_plate_image(draw_plate("K4M9P")).state is None


def test_blank_image_is_unread(plate_reader):
    from PIL import Image

    reading = plate_reader.read_plate_image(Image.new("RGB", (300, 150), (240, 240, 240)))
    assert reading.plate is None
    assert reading.confidence is None


def test_vehicle_photo_plate_is_found_and_read(plate_reader):
    from PIL import Image, ImageDraw

    scene = Image.new("RGB", (1280, 720), (90, 100, 110))
    d = ImageDraw.Draw(scene)
    d.rectangle([380, 250, 900, 600], fill=(150, 20, 25))  # the car's back
    plate = draw_plate("HXT2291", state_name="NEW YORK", size=(160, 80), font_size=34)
    scene.paste(plate, (560, 470))
    reading = plate_reader.read_vehicle_image(scene)
    assert reading.plate == "HXT2291"
    x, y, w, h = reading.box
    assert x <= 600
    assert x + w >= 680
    assert y <= 500
    assert y + h >= 520


def test_read_capture_falls_back_to_the_vehicle_photo(plate_reader):
    from PIL import Image

    scene = Image.new("RGB", (1280, 720), (90, 100, 110))
    scene.paste(draw_plate("482VNK", size=(160, 80), font_size=34), (560, 470))
    blank = Image.new("RGB", (300, 150), (240, 240, 240))
    reading = plate_reader.read_capture(blank, scene)
    assert reading.plate == "482VNK"
    assert reading.box is not None
    only_crop = plate_reader.read_capture(draw_plate("BF3017"), scene)
    assert only_crop.plate == "BF3017"
    assert only_crop.box is None


def test_bfloat16_detection_finds_the_same_lines_as_float32(plate_reader):
    """The detector's bfloat16 path (used where the CPU has native bfloat16) must not
    move the boxes the pipeline reads."""
    import numpy as np

    from captures.reading.engine import _Bf16Detector

    engine = plate_reader.engine
    original = engine.reader.detector
    net = original.net if isinstance(original, _Bf16Detector) else original
    rgb = np.asarray(draw_plate("HXT2291", state_name="NEW YORK"))
    try:
        engine.reader.detector = net
        f32 = sorted(engine.detect(rgb))
        engine.reader.detector = _Bf16Detector(net, engine.torch)
        bf16 = sorted(engine.detect(rgb))
    finally:
        engine.reader.detector = original
    assert len(f32) >= 2  # the number and the state name
    assert len(bf16) == len(f32)
    for a, b in zip(f32, bf16, strict=True):
        assert max(abs(p - q) for p, q in zip(a, b, strict=True)) <= 3, (f32, bf16)
