"""The committed recognizer, loaded offline through easyocr, reads rendered plates."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from captures.reading.engine import MODELS_DIR, PLATE_MODEL
from tests.factories import draw_plate

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.ocr

PLATES = [
    ("7KDM482", "CALIFORNIA"),
    ("HXT2291", "NEW YORK"),
    ("482VNK", "KANSAS"),
    ("BF3017", "VIRGINIA"),
    ("K4M9P", ""),
    ("5TRW38", "OREGON"),
]


def test_committed_weights_are_loaded_through_easyocr(torch_reader):
    assert (MODELS_DIR / f"{PLATE_MODEL}.pth").stat().st_size > 10_000_000
    assert torch_reader.model == "plate-v2"
    import sys
    from pathlib import Path

    import easyocr_en_models
    import torch

    reader = torch_reader.engine.reader
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


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
@pytest.mark.parametrize(("text", "state_name"), PLATES)
def test_rendered_plates_are_read_exactly(plate_reader, torch_reader, runtime, text, state_name):
    plate_reader = plate_reader if runtime == "onnx" else torch_reader
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


def test_a_state_name_in_the_number_s_box_is_read_from_beside_the_number_s_band(plate_reader):
    """On a small plate the text detector can draw the state's name and the number as one
    box; the state is then read from the strips above and below the number's characters."""
    import numpy as np

    from captures.reading.lines import Box

    gray = np.asarray(draw_plate("DWH486", state_name="OREGON").convert("L"))
    h, w = gray.shape
    whole = [Box(2, w - 2, 2, h - 2)]  # one box over the name and the number
    state, confidence = plate_reader._state_when_merged(gray, whole, [])
    assert state == "OR"
    assert 0 < confidence <= 1
    # Other text found by the detector, or the line in pieces: that text is read instead.
    assert plate_reader._state_when_merged(gray, whole, [Box(5, 60, 2, 20)]) == (None, None)
    assert plate_reader._state_when_merged(gray, whole * 2, []) == (None, None)


@pytest.mark.parametrize(("low", "high"), [(40, 75), (205, 235)])
def test_a_plate_in_deep_shade_or_in_glare_is_read_as_in_good_light(plate_reader, low, high):
    plate = draw_plate("7KDM482")
    squeezed = plate.point(lambda v: low + v * (high - low) // 255)
    assert max(squeezed.convert("L").getextrema()) <= high
    assert plate_reader.read_plate_image(squeezed).plate == "7KDM482"
    # the same in one batch, as the worker reads captures that arrive together
    (batched,) = plate_reader.read_plate_images([squeezed])
    assert batched.plate == "7KDM482"


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


def test_a_photo_with_a_burned_in_timestamp_is_still_read_by_its_plate(plate_reader):
    """Cameras burn a date and time into the photo's corner (crisp, large, all digits)."""
    from PIL import Image, ImageDraw, ImageFont

    scene = Image.new("RGB", (1280, 720), (90, 100, 110))
    d = ImageDraw.Draw(scene)
    d.rectangle([380, 250, 900, 600], fill=(150, 20, 25))
    scene.paste(
        draw_plate("HXT2291", state_name="NEW YORK", size=(160, 80), font_size=34), (560, 470)
    )
    stamp = Image.new("RGB", (130, 14), (0, 0, 0))  # white on black, then enlarged
    ImageDraw.Draw(stamp).text(
        (2, 1), "20140512 083015", font=ImageFont.load_default(), fill="white"
    )
    scene.paste(stamp.resize((390, 42)), (890, 678))
    reading = plate_reader.read_vehicle_image(scene)
    assert reading.plate == "HXT2291"
    assert reading.box[1] + reading.box[3] < 700


def test_a_box_on_the_photo_border_scores_below_an_inner_one_that_reads_less_surely():
    """On the dev photos the burned-in dates read more confidently than plates (0.95 against
    0.7-0.8): the border counts against a candidate, in the quick look and the full read."""
    from captures.reading.lines import Box
    from captures.reading.vehicle import _at_edge, _score

    w, h = 1280, 720
    stamp, plate = Box(1209, 1273, 699, 711), Box(397, 482, 202, 244)
    assert _at_edge(stamp, w, h)
    assert not _at_edge(plate, w, h)
    date = _score("2014051", 0.95, None, 0, at_edge=_at_edge(stamp, w, h))
    read = _score("YBW2343", 0.74, None, 1, at_edge=_at_edge(plate, w, h))
    assert read > date
    assert _score("2014051", 0.95, None, 0, at_edge=False) > read  # without the border rule


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


@contextmanager
def _float32_detector(engine):
    """The torch engine's CRAFT in float32 for the block (whatever the CPU chose); yields the
    float32 network and puts the engine's own detector back afterwards."""
    from captures.reading.engine import _Bf16Detector

    original = engine.reader.detector
    net = original.net if isinstance(original, _Bf16Detector) else original
    engine.reader.detector = net
    try:
        yield net
    finally:
        engine.reader.detector = original


def test_bfloat16_detection_finds_the_same_lines_as_float32(torch_reader):
    """The detector's bfloat16 path (used where the CPU has native bfloat16) must not
    move the boxes the pipeline reads."""
    import numpy as np

    from captures.reading.engine import _Bf16Detector

    engine = torch_reader.engine
    rgb = np.asarray(draw_plate("HXT2291", state_name="NEW YORK"))
    with _float32_detector(engine) as net:
        f32 = sorted(engine.detect(rgb))
        engine.reader.detector = _Bf16Detector(net, engine.torch)
        bf16 = sorted(engine.detect(rgb))
    assert len(f32) >= 2  # the number and the state name
    assert len(bf16) == len(f32)
    for a, b in zip(f32, bf16, strict=True):
        assert max(abs(p - q) for p, q in zip(a, b, strict=True)) <= 3, (f32, bf16)


def test_onnx_engine_finds_the_same_lines_and_letters_as_torch(plate_reader, torch_reader):
    """The exported networks are easyocr's: the same boxes from CRAFT (float32 on both
    sides) and, from the recognizer, the same best path at every step."""
    import numpy as np

    engine = torch_reader.engine
    rgb = np.asarray(draw_plate("HXT2291", state_name="NEW YORK"))
    with _float32_detector(engine):
        ours, theirs = sorted(plate_reader.engine.detect(rgb)), sorted(engine.detect(rgb))
    # The same boxes, within the pixel that ONNX Runtime's fused layouts can move an edge.
    assert len(ours) == len(theirs) >= 2
    for a, b in zip(ours, theirs, strict=True):
        assert max(abs(p - q) for p, q in zip(a, b, strict=True)) <= 2, (ours, theirs)
    gray = np.asarray(draw_plate("7KDM482").convert("L"))
    line = gray[30:100, 10:290]

    def greedy(p):
        best = p.argmax(axis=1)
        return [int(c) for i, c in enumerate(best) if c and (i == 0 or best[i - 1] != c)]

    # One line at a time on both sides (a batch pads its lines to the widest, and the ONNX
    # engine batches only lines of similar width): the same characters, the same steps.
    for crop in (line, line[:, :140]):
        (ours,) = plate_reader.engine.probabilities([crop])
        (theirs,) = engine.probabilities([crop])
        assert ours.shape == theirs.shape
        assert greedy(ours) == greedy(theirs)
        assert len(greedy(ours)) >= 3
        assert np.abs(ours - theirs).max() < 0.3  # torch's recognizer is int8-quantised


def test_tall_images_are_detected_in_strips_with_the_same_boxes(plate_reader, monkeypatch):
    """A vehicle photo goes through CRAFT in strips (to bound the memory): the boxes are
    those of one pass over the whole image, up to a few pixels at a seam."""
    import numpy as np
    from PIL import Image

    from captures.reading import craft_post

    scene = Image.new("RGB", (900, 700), (90, 100, 110))
    scene.paste(draw_plate("HXT2291", size=(160, 80), font_size=34), (360, 290))  # across strips
    scene.paste(draw_plate("482VNK", size=(160, 80), font_size=34), (600, 560))
    rgb = np.asarray(scene)
    calls = []
    original = craft_post._strips

    def counting(run, x):
        calls.append(x.shape[2])
        return original(run, x)

    monkeypatch.setattr(craft_post, "_strips", counting)
    strip = craft_post.STRIP
    strips = sorted(plate_reader.engine.detect(rgb))
    monkeypatch.setattr(craft_post, "STRIP", 10_000)
    whole = sorted(plate_reader.engine.detect(rgb))
    assert calls[0] > craft_post.PAD * 2 + strip  # the first call was cut into strips
    assert len(strips) == len(whole) >= 2

    def overlap(a, b):  # intersection over union of (x0, x1, y0, y1) boxes
        w = min(a[1], b[1]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[2], b[2])
        inter = max(0, w) * max(0, h)
        area = (a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2])
        return inter / (area - inter)

    for a, b in zip(strips, whole, strict=True):
        assert overlap(a, b) >= 0.85, (strips, whole)


def test_a_reading_process_holds_no_torch_and_stays_small(plate_reader, easyocr_dir):
    """The worker's reader (ONNX Runtime) never imports torch, and with its models loaded
    and a few crops and a vehicle photo read it stays under 600 MB resident (peak)."""
    import subprocess
    import sys

    script = f"""
import sys
from PIL import Image
from captures.reading.pipeline import PlateReader
from captures.synthetic.plates import render_plate

def draw_plate(text, size=(300, 150)):
    return render_plate(None, text=text, size=size, design="held-out").image

reader = PlateReader(model="plate", base_dir={str(easyocr_dir)!r}, threads=2)
for text in ("7KDM482", "HXT2291", "482VNK"):
    assert reader.read_plate_image(draw_plate(text)).plate == text
scene = Image.new("RGB", (1280, 960), (90, 100, 110))
scene.paste(draw_plate("BF3017", size=(160, 80)), (560, 700))
assert reader.read_vehicle_image(scene).plate == "BF3017"
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print("torch" in sys.modules, int(status["VmHWM"].split()[0]) // 1024)
"""
    env = {"DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    torch_loaded, peak_mb = done.stdout.split()
    assert torch_loaded == "False"
    assert int(peak_mb) < 600, peak_mb


def test_a_stale_export_is_made_again(easyocr_dir, plate_reader):
    import json

    from captures.reading import onnx_engine

    folder = onnx_engine.export_dir(easyocr_dir, "plate")
    assert onnx_engine._fresh(folder, "plate")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sources"]["recognizer"] = "0" * 32  # as after new weights were committed
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert not onnx_engine._fresh(folder, "plate")
    assert onnx_engine.ensure_exported(easyocr_dir, "plate") == folder
    assert onnx_engine._fresh(folder, "plate")
