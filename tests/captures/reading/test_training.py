"""The training command is reproducible and trains what it says it trains."""

from __future__ import annotations

import random
from collections import OrderedDict

import numpy as np
import pytest
import torch

from captures.reading.training import samples, train
from captures.synthetic import plates

PLATE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def test_training_samples_depend_only_on_their_seed():
    a_img, a_label = samples.training_sample(random.Random(1234))
    b_img, b_label = samples.training_sample(random.Random(1234))
    c_img, c_label = samples.training_sample(random.Random(1235))
    assert a_label == b_label
    assert np.array_equal(np.asarray(a_img), np.asarray(b_img))
    same_image = np.asarray(a_img).shape == np.asarray(c_img).shape and np.array_equal(
        np.asarray(a_img), np.asarray(c_img)
    )
    assert c_label != a_label or not same_image


def test_labels_are_plate_characters_only():
    labels = [samples.training_sample(random.Random(i))[1] for i in range(60)]
    assert all(label and set(label) <= PLATE_CHARS for label in labels)
    # Both letters and digits, and more than one length, occur.
    joined = "".join(labels)
    assert any(c.isdigit() for c in joined)
    assert any(c.isalpha() for c in joined)
    assert len({len(label) for label in labels}) > 2


def test_stacked_letters_are_drawn_beside_the_number_not_over_it():
    drawn = 0
    for seed in range(200):
        plate = plates.render_plate(random.Random(seed))
        if plate.stacked_box is None:
            continue
        drawn += 1
        sx0, _sy0, sx1, _sy1 = plate.stacked_box
        x0, _y0, x1, _y1 = plate.box
        assert sx1 <= x0 or sx0 >= x1, (seed, plate.stacked_box, plate.box)
    assert drawn >= 10  # about one plate in five carries them


def _state(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def _tiny_run(out, seed=7, validation=8):
    train.train(
        samples=32,
        epochs=1,
        batch_size=16,
        seed=seed,
        out=out,
        log=lambda m: None,
        train_from=11,
        validation=validation,
    )
    return _state(out)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    return _tiny_run(tmp_path_factory.mktemp("train") / "tiny.pth")


def test_the_same_command_gives_the_same_weights(tiny_weights, tmp_path):
    # Another number of validation lines too: they measure, they are not trained on.
    again = _tiny_run(tmp_path / "again.pth", validation=16)
    assert list(again) == list(tiny_weights)
    assert all(torch.equal(again[k], tiny_weights[k]) for k in again)
    other = _tiny_run(tmp_path / "other.pth", seed=8)
    assert not torch.equal(
        other["module.Prediction.weight"], tiny_weights["module.Prediction.weight"]
    )


def test_a_short_training_run_changes_only_the_trained_layers(tiny_weights):
    trained = tiny_weights
    base = OrderedDict(("module." + k, v) for k, v in train.load_base_model().state_dict().items())
    assert list(trained) == list(base)  # easyocr's key layout, "module." prefix included
    for key, value in base.items():
        assert trained[key].shape == value.shape
    frozen = "module.FeatureExtraction.ConvNet.8.weight"  # before layer 11: unchanged
    assert torch.equal(trained[frozen], base[frozen])
    changed = ["module.FeatureExtraction.ConvNet.14.weight", "module.Prediction.weight"]
    for key in changed:
        assert not torch.equal(trained[key], base[key]), key


def test_a_second_stage_starts_from_the_first_stages_weights(tiny_weights, tmp_path):
    first = tmp_path / "first.pth"
    torch.save(tiny_weights, first)
    loaded = train.load_base_model(first).state_dict()
    assert all(torch.equal(loaded[k], tiny_weights["module." + k]) for k in loaded)
    base = train.load_base_model().state_dict()
    assert not torch.equal(base["Prediction.weight"], loaded["Prediction.weight"])


def test_open_fours_reach_the_training_lines(monkeypatch):
    asked = []
    real = samples.render_plate

    def recording(rng, **kwargs):
        asked.append(kwargs.get("open_four"))
        return real(rng, **kwargs)

    monkeypatch.setattr(samples, "render_plate", recording)
    line = train.SyntheticLines(seed=1, length=2, open_four=0.6)
    image, targets, label = line[0]
    assert asked == [0.6]
    assert image.shape[0] == 64
    assert len(targets) == len(label)
    samples.training_sample(random.Random(3))
    assert asked == [0.6, 0.0]  # the default: the plates of earlier runs


def test_training_refuses_to_run_without_its_fonts(monkeypatch, tmp_path):
    main, _text = plates.font_files()
    without = {k: v for k, v in main.items() if k != "BebasNeue-Bold.otf"}
    monkeypatch.setattr(plates, "font_files", lambda: (without, {}))
    options = dict(train.DEFAULTS, out=tmp_path / "x.pth")
    with pytest.raises(SystemExit, match="fonts-bebas-neue"):
        train.run_from_options(options, log=lambda m: None)
    assert not (tmp_path / "x.pth").exists()
