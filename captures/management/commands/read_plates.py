"""``manage.py read_plates [--json] [--vehicle] FILE...``: read plate images, no database."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from PIL import Image, UnidentifiedImageError


class Command(BaseCommand):
    help = (
        "Read plate images (crops, or vehicle photos with --vehicle) and print one JSON "
        'object per file: {"file", "plate", "state", "confidence", "ms"}. '
        "Touches no database; the reader is loaded once for all files."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--json", action="store_true", help="One JSON object per line (the default)."
        )
        parser.add_argument(
            "--vehicle",
            action="store_true",
            help="The files are vehicle photos: find the plate first.",
        )

    def handle(self, *args, **options):
        from captures.reading import get_reader

        reader = get_reader()
        failures = 0
        for name in options["files"]:
            try:
                with Image.open(name) as image:
                    image.load()
                    reading = (
                        reader.read_vehicle_image(image)
                        if options["vehicle"]
                        else reader.read_capture(image)
                    )
            except (OSError, UnidentifiedImageError) as exc:
                failures += 1
                self.stderr.write(f"{name}: not a readable image ({exc})")
                continue
            row = {
                "file": name,
                "plate": reading.plate,
                "state": reading.state,
                "confidence": reading.confidence,
                "ms": round(reading.ms, 1),
            }
            if reading.box is not None:
                row["box"] = list(reading.box)
            self.stdout.write(json.dumps(row))
        if failures == len(options["files"]):
            raise CommandError("No file could be read.")
