"""Fit the confidence calibration (``captures/reading/models/calibration.json``).

    python -m captures.reading.training.calibrate [--samples 1600] [--seed 20261201]

Reads plates drawn by the one renderer (``captures.synthetic.plates``: varied designs, camera
damage of every strength, as the simulator sends them) with seeds training never draws
(training's samples are ``seed * 10**7 + i`` with its own seed), scores each read exactly
right or not, and fits one isotonic map from the raw score per group of reads (those that fit
a plate format of their state or a common US one, and the others: ``calibration.group_of``,
``calibration.fit_isotonic``).
Synthetic only: the benchmark's photos are never used.  Same seed, same table.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from captures.reading.calibration import GROUPS, TABLE, fit_isotonic, group_of
from captures.synthetic.plates import degrade, render_plate

DEFAULT_SEED = 20261201
DEFAULT_SAMPLES = 1600


def sample(seed: int, i: int):
    """(image, text) of held-out plate ``i``: a varied plate, damaged as a camera would."""
    rng = random.Random(seed * 10**7 + i + 5 * 10**6)  # far from training's seeds
    plate = render_plate(rng, clean=rng.random() < 0.1)
    difficulty = rng.choice((0.0, 0.15, 0.3, 0.45, 0.6, 0.75))
    image = degrade(plate.image, rng=rng, difficulty=difficulty) if difficulty else plate.image
    if rng.random() < 0.5:  # cameras send small crops
        w, h = image.size
        k = rng.uniform(0.3, 0.8)
        image = image.resize((max(40, int(w * k)), max(20, int(h * k))))
    return image, plate.text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=TABLE)
    parser.add_argument("--base-dir", type=Path, default=Path("var/easyocr"))
    args = parser.parse_args(argv)

    from captures.reading.pipeline import PlateReader

    reader = PlateReader(model="plate", base_dir=args.base_dir, threads=args.threads)
    started = time.monotonic()
    raw: list[float] = []
    right: list[bool] = []
    groups: list[str] = []
    unread = 0
    batch: list = []
    for i in range(args.samples):
        batch.append(sample(args.seed, i))
        if len(batch) == 8 or i == args.samples - 1:
            readings = reader.read_plate_images([image for image, _ in batch])
            for reading, (_image, text) in zip(readings, batch, strict=True):
                if reading.raw_confidence is None:
                    unread += 1
                    continue
                raw.append(reading.raw_confidence)
                right.append(reading.plate == text)
                groups.append(group_of(reading.plate, reading.state))
            batch = []
    fitted: dict[str, dict[str, object]] = {}
    for g in GROUPS:
        members = [i for i, gi in enumerate(groups) if gi == g]
        xs, ys = fit_isotonic([raw[i] for i in members], [right[i] for i in members])
        fitted[g] = {
            "raw": xs,
            "calibrated": ys,
            "reads": len(members),
            "right": sum(right[i] for i in members),
        }
    table = {
        "groups": fitted,
        "fitted_on": f"{len(raw)} held-out synthetic plates ({unread} more unread), "
        f"exactly right {sum(right)}; "
        + ", ".join(f"{g}: {fitted[g]['right']} of {fitted[g]['reads']} right" for g in GROUPS),
        "command": f"python -m captures.reading.training.calibrate --samples {args.samples} "
        f"--seed {args.seed}",
        "model": reader.model,
        # The scored samples themselves, so that the fit can be checked or redone.
        "samples": [[r, int(ok), g] for r, ok, g in zip(raw, right, groups, strict=True)],
    }
    args.out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"{table['fitted_on']}; {time.monotonic() - started:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
