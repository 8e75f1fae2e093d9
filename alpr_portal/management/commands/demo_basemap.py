"""Draw the vendored basemap of the demo area (static/<ALPR_MAP_BASEMAP>) from the demo cameras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from alpr_portal.demo.basemap import demo_area_svg


class Command(BaseCommand):
    help = "Write the offline basemap of the demo area (an SVG street map) into static/."

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(settings.BASE_DIR) / "static" / settings.ALPR_MAP_BASEMAP
        target.parent.mkdir(parents=True, exist_ok=True)
        svg = demo_area_svg(settings.ALPR_MAP_BASEMAP_BOUNDS)
        target.write_text(svg, encoding="utf-8")
        self.stdout.write(f"wrote {target}")
