"""Where one camera ingest's time goes: cProfile over ``POST /api/v1/captures/`` through the
Django test client (whole middleware stack, DRF, multipart parsing, the service), in one
process with the production settings, and the SQL statements of one ingest.

Images: a plate crop and a 1280x720 vehicle photo from ``/work/shared/datasets/openalpr-us-dev``
(benchmarks may read it), the photo given EXIF with a GPS position so metadata stripping has
work to do; Pillow-made images when the dataset is absent.

    python tests/benchmarks/profile_ingest.py [--count 200] [--top 25]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HOST = "bench-profile.localhost"
DATASET = Path("/work/shared/datasets/openalpr-us-dev")


def with_gps_exif(jpeg: bytes) -> bytes:
    """The photo with an EXIF block naming a camera and a GPS position (as a camera adds)."""
    from PIL import Image

    image = Image.open(io.BytesIO(jpeg))
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0110] = "ALPR-9000"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (45.0, 31.0, 12.0)
    gps[3], gps[4] = "W", (122.0, 40.0, 30.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif, comment=b"bench camera 7")
    return out.getvalue()


def sample_images(n: int = 4) -> list[tuple[bytes, bytes]]:
    """(plate crop, vehicle photo) pairs: JPEG crop, 1280x720 JPEG photo with GPS EXIF."""
    from PIL import Image

    pairs = []
    vehicles = sorted(DATASET.glob("vehicles/*.jpg")) if DATASET.is_dir() else []
    vehicles = [p for p in vehicles if Image.open(p).size == (1280, 720)][:n]
    plates = sorted(DATASET.glob("plates/*.png"))[:n] if vehicles else []
    for i in range(n):
        if vehicles:
            crop = Image.open(plates[i % len(plates)]).convert("RGB")
            buffer = io.BytesIO()
            crop.save(buffer, format="JPEG", quality=90)
            pairs.append((buffer.getvalue(), with_gps_exif(vehicles[i].read_bytes())))
        else:  # no dataset: a noisy photo of the same size
            photo = Image.effect_noise((1280, 720), 40 + i).convert("RGB")
            crop = photo.crop((500, 400, 800, 550))
            b1, b2 = io.BytesIO(), io.BytesIO()
            crop.save(b1, format="JPEG", quality=90)
            photo.save(b2, format="JPEG", quality=90)
            pairs.append((b1.getvalue(), with_gps_exif(b2.getvalue())))
    return pairs


def environment(database_url: str | None) -> dict[str, str]:
    import argparse as ap

    from alpr_portal import prodrun

    ns = ap.Namespace(database_url=database_url, port=0, dir=str(prodrun.CHECK_DIR))
    env = prodrun.check_env(ns)
    env["ALPR_CAMERA_RATE"] = "off"
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database-url")
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()
    env = environment(args.database_url)
    subprocess.check_call(
        [sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"], cwd=ROOT, env=env
    )
    os.environ.update(env)
    import django

    django.setup()
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from captures.ingest.services import camera_create
    from tenants.models import Agency
    from tenants.services import agency_create

    agency = Agency.objects.filter(slug="bench-profile").first()
    if agency is None:
        agency = agency_create(slug="bench-profile", name="Profile", domain=HOST).agency
    with schema_context(agency.schema_name):
        key = camera_create(
            name=f"profile-{uuid.uuid4().hex[:6]}", latitude="45.5", longitude="-122.6"
        ).api_key
    images = sample_images()
    client = Client(
        HTTP_HOST=HOST,
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_X_FORWARDED_PROTO="https",
        REMOTE_ADDR="127.0.0.1",
    )

    def post(i: int) -> None:
        plate, vehicle = images[i % len(images)]
        resp = client.post(
            "/api/v1/captures/",
            {
                "captured_at": timezone.now().isoformat(),
                "capture_id": str(uuid.uuid4()),
                "plate_image": _named(plate, "plate.jpg"),
                "vehicle_image": _named(vehicle, "vehicle.jpg"),
            },
        )
        assert resp.status_code == 201, (resp.status_code, resp.content[:300])

    for i in range(20):  # warm up (imports, connections, day key)
        post(i)
    with CaptureQueriesContext(connection) as queries:
        post(0)
    print(f"SQL statements of one ingest: {len(queries.captured_queries)}")
    for q in queries.captured_queries:
        print(f"  {q['time']}s  {q['sql'][:150]}")
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(args.count):
        post(i)
    plain = (time.perf_counter() - t0) / args.count
    cpu = (time.process_time() - c0) / args.count
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(args.count):
        post(i)
    profiler.disable()
    print(
        f"\n{args.count} ingests through the test client (unprofiled): {1000 * plain:.1f} ms "
        f"each, of which {1000 * cpu:.1f} ms CPU of this process"
    )
    print(f"images: plate {len(images[0][0])} B, vehicle {len(images[0][1])} B (1280x720)\n")
    stats = pstats.Stats(profiler)
    stats.sort_stats(args.sort).print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top + 15)


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")


if __name__ == "__main__":
    main()
