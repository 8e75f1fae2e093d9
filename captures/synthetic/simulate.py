"""Synthetic cameras pushing captures through the real camera API (demos and load tests).

Not part of the running portal: ``manage.py simulate_cameras``, the demo seed and the ingest
benchmark use it. Plates come from the one renderer, ``captures.synthetic.plates``.

Two transports, same requests: ``HttpTransport`` posts to a running server (load tests,
a live demo); ``InProcessTransport`` sends them through Django's full request stack
(middleware, tenant routing, the real view) without a server, for seeding before the web
server is up. Capture ids are derived from ``seed`` and the capture's index, so rerunning
the same simulation stores nothing twice.
"""

from __future__ import annotations

import datetime
import io
import json
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.utils import timezone
from django_tenants.utils import schema_context

from captures.ingest.services import CameraWithKey, camera_create, camera_rotate_key
from captures.models import Camera
from captures.reading.states import STATES
from captures.synthetic.plates import degrade, random_plate_text, render_plate, render_vehicle
from tenants.models import Agency

API_PATH = "/api/v1/captures/"
SIM_NAMESPACE = uuid.UUID("6b7e1f0c-3a55-4f4e-9d0b-6a1d2c9e8f10")

# Around a made-up town centre; each simulated camera watches one direction of one road.
DEFAULT_CAMERAS = [
    ("Main St & 1st Ave (northbound)", 45.5231, -122.6765, "northbound"),
    ("Main St & 1st Ave (southbound)", 45.5230, -122.6767, "southbound"),
    ("Harbor Bridge (eastbound)", 45.5122, -122.6587, "eastbound"),
    ("Harbor Bridge (westbound)", 45.5124, -122.6590, "westbound"),
    ("Route 9 at Mill Rd", 45.5402, -122.7011, "northbound"),
    ("Airport Way entrance", 45.5887, -122.5975, "inbound"),
]


@dataclass
class SimCamera:
    camera: Camera
    api_key: str


@dataclass
class SimResult:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        return self.statuses.get(201, 0)

    def summary(self) -> str:
        median = statistics.median(self.latencies_ms) if self.latencies_ms else 0.0
        p95 = (
            sorted(self.latencies_ms)[int(0.95 * (len(self.latencies_ms) - 1))]
            if self.latencies_ms
            else 0.0
        )
        rate = self.sent / self.seconds if self.seconds else 0.0
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"sent {self.sent} captures in {self.seconds:.1f} s ({rate:.1f}/s); "
            f"answers {codes or 'none'}; median {median:.0f} ms, p95 {p95:.0f} ms"
        )


def ensure_cameras(
    agency: Agency, *, count: int = len(DEFAULT_CAMERAS), prefix: str = "Sim"
) -> list[SimCamera]:
    """The agency's simulated cameras with fresh keys (created, or re-keyed if they exist)."""
    cameras: list[SimCamera] = []
    with schema_context(agency.schema_name):
        for index in range(count):
            name, lat, lon, direction = DEFAULT_CAMERAS[index % len(DEFAULT_CAMERAS)]
            if index >= len(DEFAULT_CAMERAS):
                name = f"{name} #{index // len(DEFAULT_CAMERAS) + 1}"
            name = f"{prefix}: {name}"
            existing = Camera.objects.filter(name=name).first()
            result: CameraWithKey
            if existing is None:
                result = camera_create(name=name, latitude=lat, longitude=lon, direction=direction)
            else:
                if not existing.active:
                    continue
                result = camera_rotate_key(camera=existing)
            cameras.append(SimCamera(camera=result.camera, api_key=result.api_key))
    return cameras


@dataclass(frozen=True)
class CaptureRequest:
    camera: SimCamera
    fields: dict[str, str]
    files: dict[str, tuple[str, bytes, str]]


def _encode(image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, format="JPEG", quality=88)
    else:
        image.save(buffer, format=fmt)
    return buffer.getvalue()


HOME_STATE = "CA"  # most traffic is local; the rest comes from everywhere
MIN_REGULARS = 5


def _regulars(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """A fleet of regulars (commuters seen again and again; the rest are one-off visitors).

    Drawn first from the seed's generator, one after the other, so the first
    ``MIN_REGULARS`` are the same for every ``count``.
    """
    states = sorted(STATES)
    return [
        (state, random_plate_text(rng, state=state))
        for state in (
            rng.choice([HOME_STATE] * 3 + states) for _ in range(max(MIN_REGULARS, count // 8))
        )
    ]


def regular_plates(*, seed: int, count: int = 3) -> list[tuple[str, str]]:
    """(state, plate) of the first ``count`` regulars ``generate(seed=seed)`` sends, whatever
    its count: the demo puts them on a hotlist so that the simulator's traffic hits it."""
    return _regulars(random.Random(seed), MIN_REGULARS)[: min(count, MIN_REGULARS)]


def generate(
    cameras: list[SimCamera],
    *,
    count: int,
    seed: int = 1,
    spread_hours: float = 0.0,
    now: datetime.datetime | None = None,
    vehicle_ratio: float = 0.3,
    difficulties: Sequence[float] = (0.0, 0.0, 0.15, 0.3, 0.45, 0.6),
) -> Iterator[CaptureRequest]:
    """``count`` realistic captures: recurring vehicles, varied states, fonts, angles, noise
    (each image's damage drawn from ``difficulties``, 0 for a clean plate)."""
    rng = random.Random(seed)
    now = now or timezone.now()
    states = sorted(STATES)
    home = HOME_STATE
    regulars = _regulars(rng, count)
    for index in range(count):
        if rng.random() < 0.45:
            state, text = rng.choice(regulars)
        else:
            state = rng.choice([home, home] + states)
            text = random_plate_text(rng, state=state)
        difficulty = rng.choice(list(difficulties))
        # Undamaged plates are plain; the others get a random design and camera damage.
        plate_rng = random.Random(seed * 100_003 + index)
        plate = render_plate(plate_rng, text=text, state=state, clean=difficulty == 0.0)
        image = plate.image
        if difficulty:
            image = degrade(image, rng=plate_rng, difficulty=difficulty)
        camera = cameras[index % len(cameras)]
        offset = (
            datetime.timedelta(seconds=rng.uniform(0, spread_hours * 3600))
            if spread_hours
            else datetime.timedelta(0)
        )
        fields = {
            "captured_at": (now - offset).isoformat(),
            "capture_id": str(uuid.uuid5(SIM_NAMESPACE, f"{seed}:{index}:{camera.camera.name}")),
        }
        if rng.random() < 0.5:  # some cameras report their own reading
            fields.update(
                plate=plate.text, state=plate.state, confidence=f"{rng.uniform(0.5, 0.99):.2f}"
            )
        fmt = rng.choice(["JPEG", "JPEG", "PNG", "WEBP"])
        ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
        files = {"plate_image": (f"plate.{ext}", _encode(image, fmt), f"image/{ext}")}
        if rng.random() < vehicle_ratio:
            scene = render_vehicle(image, rng=random.Random(seed * 7 + index))
            files["vehicle_image"] = ("vehicle.jpg", _encode(scene, "JPEG"), "image/jpeg")
        yield CaptureRequest(camera=camera, fields=fields, files=files)


def multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    boundary = f"alpr-sim-{uuid.uuid4().hex}"
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(str(value).encode() + b"\r\n")
    for name, (filename, data, ctype) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class HttpTransport:
    """POST to a running server; ``host`` is the agency's host name (sent as Host header)."""

    def __init__(self, *, server: str, host: str, timeout: float = 30.0):
        self.url = server.rstrip("/") + API_PATH
        self.host = host
        self.timeout = timeout

    def __call__(self, request: CaptureRequest) -> tuple[int, dict]:
        body, ctype = multipart(request.fields, request.files)
        http = urllib.request.Request(  # noqa: S310 - the operator gives the server URL
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": ctype,
                "Authorization": f"Bearer {request.camera.api_key}",
                "Host": self.host,
            },
        )
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {"detail": exc.reason}


class InProcessTransport:
    """The same request through Django's whole stack, in this process (no server needed)."""

    def __init__(self, *, host: str):
        from django.test import Client

        self.host = host
        self._local = threading.local()
        self._client_cls = Client

    def __call__(self, request: CaptureRequest) -> tuple[int, dict]:
        from django.core.files.uploadedfile import SimpleUploadedFile

        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._client_cls(HTTP_HOST=self.host)
        data: dict = dict(request.fields)
        for name, (filename, content, ctype) in request.files.items():
            data[name] = SimpleUploadedFile(filename, content, ctype)
        response = client.post(
            API_PATH, data=data, HTTP_AUTHORIZATION=f"Bearer {request.camera.api_key}"
        )
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {}


def run(
    requests: Iterator[CaptureRequest],
    send: Callable[[CaptureRequest], tuple[int, dict]],
    *,
    rate: float | None = None,
    concurrency: int = 1,
    on_answer: Callable[[int, dict], None] | None = None,
) -> SimResult:
    """Send every request, at most ``rate`` per second, ``concurrency`` at a time."""
    result = SimResult()
    lock = threading.Lock()
    started = time.monotonic()

    def one(request: CaptureRequest) -> None:
        t0 = time.monotonic()
        try:
            code, body = send(request)
        except Exception as exc:  # a network error is a result to report, not a crash
            code, body = 0, {"detail": str(exc)}
        elapsed = (time.monotonic() - t0) * 1000
        with lock:
            result.sent += 1
            result.statuses[code] += 1
            result.latencies_ms.append(elapsed)
            if code != 201 and len(result.errors) < 20:
                result.errors.append(f"{code}: {body.get('detail', body)}")
        if on_answer:
            on_answer(code, body)

    interval = 1.0 / rate if rate else 0.0
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = []
        for index, request in enumerate(requests):
            if interval:
                delay = started + index * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if concurrency <= 1:
                one(request)
            else:
                futures.append(pool.submit(one, request))
        for future in futures:
            future.result()
    result.seconds = time.monotonic() - started
    return result


def agency_host(agency: Agency) -> str:
    domain = agency.domains.filter(is_primary=True).first() or agency.domains.first()
    if domain is None:
        raise ValueError(f"Agency {agency.slug} has no host name.")
    return domain.domain
