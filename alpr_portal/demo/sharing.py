"""Demo step: a neighbouring agency that shares its reads with the demo agency.

Agency ``neighbor`` (Neighbor County Sheriff, at neighbor.localhost) has two cameras and a few
reads of the cars the demo's own cameras see most (the simulator's regulars, on the demo's
hotlist too): a car crossing the county line. It offers the demo agency read access and the
demo agency accepts, through the same services as the sharing pages, so both agencies' logs
hold the offer and the acceptance. The demo officer then ticks "Neighbor County Sheriff" in the
search form: the search is logged in both logs, linked.

The reads go through the camera intake (``capture_ingest``: re-encoded, encrypted under the
neighbour's day key in its own storage) and get their reading as the worker would store it
(``capture_store_reading``), so their images open from the shared capture page. Idempotent:
fixed capture ids, and the grant is offered only when none is in force.
"""

from __future__ import annotations

import datetime
import io
import random
import uuid
from io import TextIOBase

from django.utils import timezone
from django_tenants.utils import schema_context

from captures.ingest.services import camera_create, capture_ingest
from captures.models import Camera, Capture
from captures.reading.result import PlateReading
from captures.reading.services import capture_store_reading
from captures.synthetic import simulate
from captures.synthetic.plates import render_plate, render_vehicle
from tenants.models import Agency
from tenants.services import agency_create
from tenants.sharing.selectors import grant_in_force
from tenants.sharing.services import agency_today, grant_accept, grant_offer

from .cameras import DEMO_SEED

NEIGHBOR_SLUG = "neighbor"
NEIGHBOR_NAME = "Neighbor County Sheriff"
NEIGHBOR_HOST = "neighbor.localhost"
NEIGHBOR_CAMERAS = [
    ("Neighbor: County Line Rd (westbound)", 45.4981, -122.7402, "westbound"),
    ("Neighbor: Hwy 26 at Exit 9", 45.5075, -122.7755, "eastbound"),
]
READS_PER_PLATE = 2
GRANT_DAYS = 180
_IDS = uuid.UUID("9d4c1e52-7a0b-4c8e-b6a1-2f3e4d5c6b7a")


def _camera(name: str, lat: float, lon: float, direction: str) -> Camera:
    existing = Camera.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return camera_create(name=name, latitude=lat, longitude=lon, direction=direction).camera


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _reads(agency: Agency) -> int:
    """The neighbour's reads of the demo's regulars (those not yet there); how many it has."""
    now = timezone.now()
    with schema_context(agency.schema_name):
        cameras = [_camera(*spec) for spec in NEIGHBOR_CAMERAS]
        for number, (state, text) in enumerate(simulate.regular_plates(seed=DEMO_SEED)):
            for seen in range(READS_PER_PLATE):
                capture_id = uuid.uuid5(_IDS, f"{text}-{seen}")
                if Capture.objects.filter(client_capture_id=capture_id).exists():
                    continue
                rng = random.Random(f"{text}-{seen}")
                plate = render_plate(rng, text=text, state=state, clean=True)
                camera = cameras[(number + seen) % len(cameras)]
                result = capture_ingest(
                    camera=camera,
                    agency=agency,
                    plate_image=_png(plate.image),
                    vehicle_image=_png(render_vehicle(plate.image, rng=rng)),
                    captured_at=now - datetime.timedelta(hours=3 + 7 * number + 19 * seen),
                    client_capture_id=capture_id,
                    edge_plate=text,
                    edge_state=state,
                    edge_confidence=0.93,
                    enqueue=False,
                )
                capture_store_reading(
                    capture_id=result.capture.pk,
                    reading=PlateReading(
                        plate=text,
                        confidence=0.94,
                        state=state,
                        state_confidence=0.9,
                        box=None,
                        model="demo seed",
                        ms=0.0,
                    ),
                )
        return Capture.objects.filter(camera__in=cameras).count()


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    neighbor = agency_create(
        slug=NEIGHBOR_SLUG,
        name=NEIGHBOR_NAME,
        domain=NEIGHBOR_HOST,
        timezone="America/Los_Angeles",
    ).agency
    count = _reads(neighbor)
    grant = grant_in_force(owner=neighbor, recipient=agency)
    if grant is None:
        offered = grant_offer(
            owner=neighbor,
            recipient=agency,
            ends_on=agency_today(neighbor) + datetime.timedelta(days=GRANT_DAYS),
            username="seed_demo",
        )
        grant = grant_accept(agency=agency, grant_id=offered.pk, username="seed_demo")
    plates = ", ".join(text for _, text in simulate.regular_plates(seed=DEMO_SEED))
    stdout.write(
        f"Sharing: {NEIGHBOR_NAME} ({count} reads) shares with {agency.name} until "
        f"{grant.ends_on:%Y-%m-%d}; tick it in the search form and search e.g. {plates}."
    )
