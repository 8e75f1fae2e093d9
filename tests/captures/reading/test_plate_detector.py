"""The plate detector: its regions, the committed network on drawn photos, and the vehicle
path that runs it before the text detector."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from captures.reading import plate_detector, vehicle
from tests.factories import draw_plate

pytestmark = pytest.mark.ocr


def _photo(text: str = "HXT2291", at: tuple[int, int] = (560, 470)) -> Image.Image:
    """A car's back in a street photo, its plate in the reading tests' held-out design (a face
    and layout neither network trained on)."""
    scene = Image.new("RGB", (1280, 720), (90, 100, 110))
    d = ImageDraw.Draw(scene)
    d.rectangle([0, 560, 1280, 720], fill=(70, 70, 72))  # the road
    d.rectangle([at[0] - 180, at[1] - 220, at[0] + 340, at[1] + 130], fill=(150, 20, 25))
    d.rectangle([at[0] - 140, at[1] - 190, at[0] + 300, at[1] - 90], fill=(40, 50, 60))
    scene.paste(draw_plate(text, state_name="NEW YORK", size=(160, 80), font_size=34), at)
    return scene


def test_regions_are_the_connected_areas_above_the_threshold_best_first():
    prob = np.zeros((40, 60), dtype=np.float32)
    prob[5:9, 10:20] = 0.6  # a plate-sized area
    prob[20:26, 30:44] = 0.9  # a surer one
    prob[30, 50] = 0.95  # one cell: noise, dropped
    found = plate_detector.regions(prob)
    assert [r[:4] for r in found] == [(30, 20, 44, 26), (10, 5, 20, 9)]
    assert found[0][4] == pytest.approx(0.9)
    assert plate_detector.regions(prob, threshold=0.7)[0][:4] == (30, 20, 44, 26)
    assert plate_detector.regions(np.zeros((8, 8), dtype=np.float32)) == []


def test_the_photo_is_scaled_to_the_working_side_and_padded_to_the_networks_multiple():
    gray = np.full((720, 1280), 50, dtype=np.uint8)
    x, scale = plate_detector.prepare(gray)
    assert scale == pytest.approx(plate_detector.SIDE / 1280)
    rows, cols = round(720 * scale), round(1280 * scale)
    assert x.shape == (1, 1, -(-rows // 32) * 32, -(-cols // 32) * 32)  # padded to 32
    assert x.dtype == np.float32
    small, scale = plate_detector.prepare(np.zeros((199, 300), dtype=np.uint8))
    assert small.shape[2] % 32 == 0
    assert small.shape[3] % 32 == 0
    assert scale > 1  # small photos are enlarged: plates are looked for at one scale


def test_the_committed_detector_marks_the_plate_and_nothing_on_a_bare_street():
    det = plate_detector.detector(2)
    assert det is not None
    found = det.detect(np.asarray(_photo().convert("L")))
    assert found, "no region on a photo with a plate"
    best = found[0]
    # the plate lies at (560, 470)-(720, 550): the best region is on it
    assert best.x0 < 640 < best.x1
    assert best.y0 < 510 < best.y1
    assert best.w < 400
    assert best.h < 200
    bare = Image.new("RGB", (1280, 720), (90, 100, 110))
    ImageDraw.Draw(bare).rectangle([0, 560, 1280, 720], fill=(70, 70, 72))
    assert det.detect(np.asarray(bare.convert("L"))) == []


def _read_counting_text_detections(reader, photo):
    """The reading of ``photo`` and the shape of every image the text detector was run on."""
    calls = []
    detect = reader.engine.detect

    def counting(rgb, **kwargs):
        calls.append(rgb.shape)
        return detect(rgb, **kwargs)

    reader.engine.detect = counting
    try:
        return reader.read_vehicle_image(photo), calls
    finally:
        del reader.engine.detect


def test_a_sure_reading_of_the_detectors_region_skips_the_text_detector(plate_reader):
    reading, calls = _read_counting_text_detections(plate_reader, _photo())
    assert reading.plate == "HXT2291"
    x, y, w, h = reading.box
    assert x <= 560
    assert x + w >= 720
    assert y <= 470
    assert y + h >= 550
    # the text detector ran on the crop only (to find the number's line), never on the photo
    assert calls
    assert all(shape[0] < 200 for shape in calls)


def test_without_a_sure_reading_the_text_detector_looks_at_the_whole_photo(
    plate_reader, monkeypatch
):
    monkeypatch.setattr(vehicle, "ACCEPT", (99.0,))  # no reading is sure enough
    reading, calls = _read_counting_text_detections(plate_reader, _photo())
    assert reading.plate == "HXT2291"
    assert any(shape[1] >= 900 for shape in calls)  # the photo (960 px wide) was looked at


def test_a_reader_without_the_plate_detector_still_finds_the_plate(easyocr_dir):
    from captures.reading.pipeline import PlateReader

    reader = PlateReader(model="plate", base_dir=easyocr_dir, threads=2, plate_detector=False)
    assert reader.plate_detector is None
    assert reader.read_vehicle_image(_photo()).plate == "HXT2291"


def test_a_detector_region_at_the_photos_corner_counts_against_its_reading(
    plate_reader, monkeypatch
):
    """The detector takes a burned-in timestamp for a plate as readily as the text detector
    does: its regions at the border are scored with the same edge rule, so a plate inside
    the photo wins over one in the corner that reads as surely."""
    scene = _photo()
    corner = draw_plate("KLM4821", state_name="NEW YORK", size=(160, 80), font_size=34)
    scene.paste(corner, (1118, 640))  # against the bottom-right corner
    gray = np.asarray(scene.convert("L"))
    regions = vehicle._detected_regions(plate_reader, gray)
    flags = {(x + w // 2 > 1000): at_edge for (x, _y, w, _h), at_edge in regions}
    assert flags == {False: False, True: True}

    monkeypatch.setattr(vehicle, "ACCEPT", (99.0,))  # every region is read and scored
    scored = {}
    read_region = vehicle._read_region

    def recording(reader, image, region, rank, *, at_edge):
        got = read_region(reader, image, region, rank, at_edge=at_edge)
        if got is not None:
            scored[got[1]] = got[0]
        return got

    monkeypatch.setattr(vehicle, "_read_region", recording)
    assert plate_reader.read_vehicle_image(scene).plate == "HXT2291"
    assert scored["KLM4821"] < 0.5 * scored["HXT2291"]


def test_a_box_a_few_pixels_in_from_a_corner_is_at_the_edge_and_one_at_the_top_centre_not():
    from captures.reading.lines import Box

    w, h = 1024, 640
    assert vehicle._at_edge(Box(973, 996, 621, 627), w, h)  # a date, 13 px above the bottom
    assert not vehicle._at_edge(Box(973, 996, 500, 527), w, h)  # as far right, higher up
    assert not vehicle._at_edge(Box(700, 776, 10, 46), w, h)  # a plate near the top


def test_a_plate_the_text_detector_boxes_nothing_on_is_read_by_its_band(plate_reader, monkeypatch):
    """On a far or blurred plate (several of the dev photos) the text detector finds no box
    in the detector's region; the number's characters still stand out as a band."""
    detect = plate_reader.engine.detect

    def blind_on_crops(rgb, **kwargs):
        return [] if rgb.shape[0] < 200 else detect(rgb, **kwargs)

    monkeypatch.setattr(plate_reader.engine, "detect", blind_on_crops)
    reading = plate_reader.read_vehicle_image(_photo())
    assert reading.plate == "HXT2291"
    x, y, w, h = reading.box
    assert x <= 560 < 720 <= x + w


def test_a_plate_the_text_detector_boxes_only_part_of_is_read_by_its_band(
    plate_reader, monkeypatch
):
    """A plate at the photo's corner on the dev photos: the text detector boxed the number's
    last three characters only, a reading too short to be a plate; the band reads it whole."""
    detect = plate_reader.engine.detect
    seen = []

    def partial_on_crops(rgb, **kwargs):
        boxes = detect(rgb, **kwargs)
        if rgb.shape[0] >= 200:
            return boxes
        # Each box cut to its right third: two or three characters of the number.
        cut = [(x1 - (x1 - x0) // 3, x1, y0, y1) for x0, x1, y0, y1 in boxes]
        seen.append(cut)
        return cut

    monkeypatch.setattr(plate_reader.engine, "detect", partial_on_crops)
    reading = plate_reader.read_vehicle_image(_photo())
    assert seen  # the regions went through the cut detector
    assert reading.plate == "HXT2291"
    x, y, w, h = reading.box
    assert x <= 560 < 720 <= x + w
