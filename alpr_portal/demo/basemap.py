"""The vendored basemap of the demo area: a street map drawn from the demo cameras' places.

Offline installs and the demo show search results on this map instead of tiles from a tile
server (``ALPR_MAP_TILE_URL``). The roads are the ones the simulated cameras
(``captures.synthetic.simulate.DEFAULT_CAMERAS``) are named after, laid through their
coordinates, plus a street grid around the centre; the file is generated, not drawn by hand:

    .venv/bin/python manage.py demo_basemap      # writes static/<ALPR_MAP_BASEMAP>

``tests/alpr_portal/test_basemap.py`` checks the committed file is what this module draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

SIZE = 1000  # the SVG's width and height in its own units

Bounds = Sequence[Sequence[float]]  # [[south, west], [north, east]]
Point = tuple[float, float]  # (latitude, longitude)


def _mercator(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


class Projection:
    """Latitude/longitude to SVG units, in Web Mercator like the map that stretches it."""

    def __init__(self, bounds: Bounds) -> None:
        (self.south, self.west), (self.north, self.east) = bounds
        self.top, self.bottom = _mercator(self.north), _mercator(self.south)

    def __call__(self, point: Point) -> tuple[float, float]:
        lat, lon = point
        x = (lon - self.west) / (self.east - self.west) * SIZE
        y = (self.top - _mercator(lat)) / (self.top - self.bottom) * SIZE
        return round(x, 1), round(y, 1)


def _camera(cameras: Sequence[tuple[str, float, float, str]], name: str) -> Point:
    for camera_name, lat, lon, _ in cameras:
        if camera_name.startswith(name):
            return lat, lon
    raise KeyError(name)


def _roads(cameras: Sequence[tuple[str, float, float, str]], bounds: Bounds) -> list[dict]:
    """Each road: name, kind (major, minor, highway) and its points."""
    (south, west), (north, east) = bounds
    main = _camera(cameras, "Main St")
    bridge = _camera(cameras, "Harbor Bridge")
    route9 = _camera(cameras, "Route 9")
    airport = _camera(cameras, "Airport Way")
    roads: list[dict] = []
    # The centre's grid: avenues east-west, streets north-south, 400 m or so apart.
    for i in range(-8, 6):
        lat = main[0] + i * 0.0036
        if i:
            roads.append({"kind": "minor", "points": [(lat, west), (lat, bridge[1] - 0.004)]})
    for i in range(-8, 5):
        lon = main[1] + i * 0.005
        if i:
            roads.append({"kind": "minor", "points": [(south, lon), (main[0] + 0.02, lon)]})
    roads += [
        {"name": "Main St", "kind": "major", "points": [(south, main[1]), (north, main[1])]},
        {"name": "1st Ave", "kind": "major", "points": [(main[0], west), (main[0], east)]},
        {
            "name": "Harbor Bridge",
            "kind": "bridge",
            "points": [(bridge[0], main[1]), (bridge[0], bridge[1] + 0.012)],
        },
        {
            "name": "Harbor Rd",
            "kind": "major",
            "points": [(bridge[0], bridge[1] + 0.012), (bridge[0], east)],
        },
        {
            "name": "Route 9",
            "kind": "highway",
            "points": [
                (south, route9[1] + 0.012),
                (main[0], route9[1] + 0.006),
                (route9[0], route9[1]),
                (north, route9[1] - 0.01),
            ],
        },
        {"name": "Mill Rd", "kind": "major", "points": [(route9[0], west), (route9[0], main[1])]},
        {
            "name": "Airport Way",
            "kind": "highway",
            "points": [(main[0], main[1]), (main[0] + 0.03, main[1] + 0.03), airport],
        },
    ]
    return roads


STYLE = {
    "minor": 'stroke="#ffffff" stroke-width="5"',
    "major": 'stroke="#fde9b8" stroke-width="11"',
    "bridge": 'stroke="#fde9b8" stroke-width="11"',
    "highway": 'stroke="#f6c26b" stroke-width="14"',
}
CASING = {"minor": 7, "major": 14, "bridge": 15, "highway": 17}


def render_svg(*, bounds: Bounds, cameras: Sequence[tuple[str, float, float, str]]) -> str:
    """The basemap as SVG text: land, the river, a park, the airport, roads and their names."""
    project = Projection(bounds)
    bridge = _camera(cameras, "Harbor Bridge")
    airport = _camera(cameras, "Airport Way")
    (south, _), (north, _) = bounds

    def path(points: Sequence[Point]) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(map(project, points))
        )

    river_west, river_east = bridge[1] + 0.002, bridge[1] + 0.010
    river = [(north, river_west - 0.004), (bridge[0], river_west), (south, river_west + 0.003),
             (south, river_east + 0.003), (bridge[0], river_east), (north, river_east - 0.004)]  # fmt: skip
    ax, ay = project((airport[0] + 0.006, airport[1] - 0.002))
    bx, by = project((airport[0] - 0.006, airport[1] + 0.02))
    px, py = project((bridge[0] + 0.006, bridge[1] - 0.016))
    qx, qy = project((bridge[0] - 0.001, bridge[1] - 0.006))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" preserveAspectRatio="none" role="img" '
        'aria-label="Street map of the demo area">',
        "<title>Street map of the demo area (generated by alpr_portal/demo/basemap.py)</title>",
        f'<rect width="{SIZE}" height="{SIZE}" fill="#f2efe9"/>',
        f'<rect x="{px}" y="{py}" width="{qx - px}" height="{qy - py}" fill="#c8e6c2"/>',
        f'<rect x="{ax}" y="{ay}" width="{bx - ax}" height="{by - ay}" fill="#e3dcef"/>',
        f'<path d="{path(river)} Z" fill="#a9d3f2"/>',
    ]
    roads = _roads(cameras, bounds)
    for road in roads:  # casings first, so crossings look joined
        out.append(
            f'<path d="{path(road["points"])}" fill="none" stroke="#c9c2b6" '
            f'stroke-width="{CASING[road["kind"]]}" stroke-linecap="round"/>'
        )
    for road in roads:
        out.append(
            f'<path d="{path(road["points"])}" fill="none" {STYLE[road["kind"]]} '
            'stroke-linecap="round" stroke-linejoin="round"/>'
        )
    labels = [(road["name"], road["points"]) for road in roads if road.get("name")]
    labels += [("Harbor River", [(north, river_west), (bridge[0] + 0.03, river_west)]),
               ("Airport", [(airport[0] + 0.006, airport[1]), (airport[0] + 0.006, airport[1] + 0.02)]),
               ("Riverside Park", [(bridge[0] + 0.004, bridge[1] - 0.016), (bridge[0] + 0.004, bridge[1] - 0.006)])]  # fmt: skip
    for name, points in labels:
        (x1, y1), (x2, y2) = project(points[0]), project(points[-1])
        if x2 < x1:
            x1, y1, x2, y2 = x2, y2, x1, y1
        angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        out.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" transform="rotate({angle:.1f} {cx:.1f} {cy:.1f})" '
            'font-family="sans-serif" font-size="15" fill="#4a4a4a" text-anchor="middle" '
            'dy="-9" stroke="#f2efe9" stroke-width="3" paint-order="stroke">'
            f"{escape(name)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def demo_area_svg(bounds: Bounds) -> str:
    """The basemap of the demo area, drawn around the simulator's cameras."""
    from captures.synthetic.simulate import DEFAULT_CAMERAS

    return render_svg(bounds=bounds, cameras=DEFAULT_CAMERAS)
