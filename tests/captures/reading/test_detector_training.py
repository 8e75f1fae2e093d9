"""The plate detector's training: its scenes, its reproducibility, its ONNX export."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from captures.reading import plate_detector
from captures.reading.training import detector, scenes
from captures.synthetic import plates


def test_scenes_depend_only_on_their_seed_and_mark_the_plates_faces():
    a, a_mask = scenes.scene_sample(random.Random(11))
    b, b_mask = scenes.scene_sample(random.Random(11))
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert np.array_equal(a_mask, b_mask)
    assert a.mode == "L"
    assert a.size == (320, 320)
    assert a_mask.shape == (320, 320)
    masks = [scenes.scene_sample(random.Random(seed))[1] for seed in range(40)]
    with_plates = [m for m in masks if m.any()]
    # most scenes hold a plate, some none (a street without one teaches what is not a plate)
    assert 25 <= len(with_plates) < 40
    # a plate's face is a small part of the scene, of the sizes the dev photos' plates have
    areas = sorted(int(m.sum()) for m in with_plates)
    assert areas[0] >= 60
    assert areas[-1] < 0.4 * 320 * 320


def test_scenes_render_on_a_machine_without_the_debian_fonts(monkeypatch):
    monkeypatch.setattr(plates, "font_files", lambda: ({}, {}))
    monkeypatch.setattr(scenes, "font_files", lambda: ({}, {}))
    image, mask = scenes.scene_sample(random.Random(3))  # Pillow's own face instead
    assert image.size == (320, 320)
    assert mask.any()


def test_the_mask_is_where_the_plate_was_pasted():
    image, mask = scenes.scene_sample(random.Random(3))
    assert mask.any()
    ys, xs = np.nonzero(mask)
    face = np.asarray(image)[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    # a plate's face carries its number: far more contrast than a flat patch
    assert face.std() > 15


def _tiny(tmp_path, name, seed=5, validation=4, export=False):
    out = tmp_path / f"{name}.pth"
    detector.train(
        steps=3,
        batch_size=2,
        size=64,
        seed=seed,
        threads=1,
        workers=0,
        validation=validation,
        out=out,
        onnx=tmp_path / f"{name}.onnx" if export else None,
        log=lambda m: None,
    )
    return torch.load(out, map_location="cpu", weights_only=True)


def test_the_same_command_gives_the_same_weights(tmp_path):
    first = _tiny(tmp_path, "a")
    # another number of held-out scenes too: they measure, they are not trained on
    again = _tiny(tmp_path, "b", validation=6)
    assert list(first) == list(again)
    assert all(torch.equal(first[k], again[k]) for k in first)
    other = _tiny(tmp_path, "c", seed=6)
    assert not torch.equal(first["head.weight"], other["head.weight"])
    fresh = detector.PlateNet().state_dict()
    assert not torch.equal(first["head.weight"], fresh["head.weight"])  # it trained


def test_the_exported_network_gives_the_trained_networks_output_at_any_size(tmp_path):
    _tiny(tmp_path, "a", export=True)
    model = detector.PlateNet()
    model.load_state_dict(torch.load(tmp_path / "a.pth", map_location="cpu", weights_only=True))
    model.eval()
    run = plate_detector.PlateDetector(tmp_path / "a.onnx")
    rng = np.random.default_rng(0)
    for h, w in ((64, 96), (384, 640)):
        x = rng.uniform(0, 255, (1, 1, h, w)).astype(np.float32)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = run.session.run(None, {"image": x})[0]
        assert got.shape == (1, 1, h // 4, w // 4)
        assert np.allclose(got, expected, atol=1e-3)


def test_the_committed_onnx_file_is_the_committed_weights():
    assert detector.PTH.exists()
    assert detector.ONNX.exists()
    model = detector.PlateNet()
    model.load_state_dict(torch.load(detector.PTH, map_location="cpu", weights_only=True))
    model.eval()
    x = np.random.default_rng(1).uniform(0, 255, (1, 1, 128, 160)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = plate_detector.PlateDetector().session.run(None, {"image": x})[0]
    assert np.allclose(got, expected, atol=1e-3)


def test_training_refuses_to_run_without_its_fonts(monkeypatch, tmp_path):
    main, _text = plates.font_files()
    without = {k: v for k, v in main.items() if k != "BebasNeue-Bold.otf"}
    monkeypatch.setattr(plates, "font_files", lambda: (without, {}))
    out = tmp_path / "x.pth"
    with pytest.raises(SystemExit, match="fonts-bebas-neue"):
        detector.main(["--steps", "1", "--out", str(out), "--onnx", str(tmp_path / "x.onnx")])
    assert not out.exists()
