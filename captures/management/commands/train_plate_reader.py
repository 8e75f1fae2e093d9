"""``manage.py train_plate_reader``: regenerate the plate recognizer's weights (CPU)."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Fine-tune easyocr's english_g2 recognizer on synthetic plate lines rendered by "
        "captures.synthetic.plates (never on real images) and write captures/reading/models/"
        "plate_v2.pth. Fixed seed: the same command gives the same weights."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        from captures.reading.training.train import add_arguments

        add_arguments(parser)

    def handle(self, *args, **options):
        from captures.reading.training.train import run_from_options

        def log(msg: str) -> None:
            self.stdout.write(msg)
            self.stdout.flush()

        path = run_from_options(options, log=log)
        log(f"weights written to {path}")
