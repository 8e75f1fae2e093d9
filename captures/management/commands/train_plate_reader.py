"""``manage.py train_plate_reader``: regenerate the plate recognizer's weights (CPU)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Fine-tune easyocr's english_g2 recognizer on synthetic plate lines rendered by "
        "captures.reading.render (never on real images) and write captures/reading/models/"
        "plate_v1.pth. Fixed seed: the same command gives the same weights."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--samples", type=int, default=4800)
        parser.add_argument("--epochs", type=int, default=5)
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--lr", type=float, default=5e-4)
        parser.add_argument("--seed", type=int, default=20261129)
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--workers", type=int, default=1, help="Sample-rendering processes.")
        parser.add_argument("--out", type=Path, default=None)
        parser.add_argument(
            "--stop-after",
            type=int,
            default=4,
            help="Stop after this many epochs of the --epochs schedule (the committed "
            "weights are epoch 4 of 5).",
        )

    def handle(self, *args, **o):
        from captures.reading.train import train

        def log(msg: str) -> None:
            self.stdout.write(msg)
            self.stdout.flush()

        path = train(
            samples=o["samples"],
            epochs=o["epochs"],
            batch_size=o["batch_size"],
            lr=o["lr"],
            seed=o["seed"],
            threads=o["threads"],
            workers=o["workers"],
            out=o["out"],
            stop_after=o["stop_after"],
            log=log,
        )
        log(f"weights written to {path}")
