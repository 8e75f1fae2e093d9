"""The results map's street layer: the vendored basemap of the demo area and the tile server
setting (and the CSP source it adds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from alpr_portal.demo.basemap import Projection, render_svg
from alpr_portal.env import ConfigError
from alpr_portal.settings import _tile_source
from captures.synthetic.simulate import DEFAULT_CAMERAS

ROOT = Path(__file__).resolve().parents[2]


def test_the_vendored_basemap_is_what_the_generator_draws():
    committed = (ROOT / "static" / settings.ALPR_MAP_BASEMAP).read_text(encoding="utf-8")
    drawn = render_svg(bounds=settings.ALPR_MAP_BASEMAP_BOUNDS, cameras=DEFAULT_CAMERAS)
    assert committed == drawn, "run: manage.py demo_basemap"
    for road in ("Main St", "1st Ave", "Harbor Bridge", "Route 9", "Mill Rd", "Airport Way"):
        assert f">{road}</text>" in committed


def test_every_demo_camera_is_on_the_basemap():
    project = Projection(settings.ALPR_MAP_BASEMAP_BOUNDS)
    for name, lat, lon, _ in DEFAULT_CAMERAS:
        x, y = project((lat, lon))
        assert 0 < x < 1000, name
        assert 0 < y < 1000, name


def test_the_tile_server_is_allowed_by_the_csp_and_nothing_else():
    assert _tile_source("") == []
    assert _tile_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == [
        "https://tile.openstreetmap.org"
    ]
    assert _tile_source("https://{s}.tiles.example.org/{z}/{x}/{y}.png") == [
        "https://*.tiles.example.org"
    ]
    with pytest.raises(ConfigError):
        _tile_source("javascript:alert(1)")


def test_tests_and_development_use_no_tile_server():
    assert settings.ALPR_MAP_TILE_URL == ""
    assert "openstreetmap" not in " ".join(
        settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]
    )
