"""Evidence package of a 500-capture disclosure: peak memory and time of the build and check.

Builds (from scratch, every run) an agency ``bench-package`` with ``--captures`` confirmed
captures, each with a real encrypted plate image (PNG) and vehicle photo (JPEG of about
``--vehicle-kb`` KB), a review and two access-log entries, and one approved disclosure of all
of them. Then, ``--runs`` times, a fresh process builds the package with the real service
(``captures.releases.package.package_build``, what the Celery task runs) and another checks
it (``verify_package_file``, what ``manage.py verify_package`` runs); each reports its peak
resident memory (``VmHWM``) and time. A process that only starts Django gives the
baseline. The requirement: a 500-capture package stays under 300 MB.

Use a database of its own; it is created if missing:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_package \\
        .venv/bin/python tests/benchmarks/bench_package.py [--captures 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")

from tests.benchmarks.common import ensure_database, load_note  # noqa: E402

SLUG = "bench-package"


def _say(message: str) -> None:
    print(f"[bench_package] {message}", flush=True)


def _images(vehicle_kb: int) -> tuple[bytes, bytes]:
    from PIL import Image, ImageDraw

    plate = Image.new("RGB", (240, 80), "white")
    ImageDraw.Draw(plate).text((20, 30), "BENCH01", fill="black")
    plate_buffer = io.BytesIO()
    plate.save(plate_buffer, format="PNG")
    rng = random.Random(7)
    side = 320
    while True:  # noise photo grown until it is about vehicle_kb (JPEG cannot shrink noise)
        photo = Image.frombytes(
            "RGB", (side * 4 // 3, side), rng.randbytes(side * 4 // 3 * side * 3)
        )
        buffer = io.BytesIO()
        photo.save(buffer, format="JPEG", quality=70)
        if buffer.tell() >= vehicle_kb * 1024 or side > 3000:
            return plate_buffer.getvalue(), buffer.getvalue()
        side = int(side * 1.2)


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). ``ru_maxrss`` is not used: Linux carries
    it over from the parent across exec, so a child would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: argparse.Namespace) -> None:
    """One measured step in a fresh process: build a package, check one, or only start."""
    import django

    django.setup()
    from django.conf import settings
    from django_tenants.utils import schema_context

    from tenants.models import Agency

    settings.ALPR_STORAGE_DIR = Path(args.storage)
    settings.ALPR_PACKAGE_DIR = Path(args.packages)
    agency = Agency.objects.get(slug=SLUG)
    started = time.monotonic()
    result: dict[str, object] = {}
    with schema_context(agency.schema_name):
        if args.child == "build":
            from captures.releases.package import package_build

            package = package_build(agency=agency, package_id=args.package)
            assert package is not None
            assert package.status == "ready", package.error
            result.update(size=package.size_bytes, file=package.file_name)
        elif args.child == "verify":
            from captures.releases.package import verify_package_file
            from captures.releases.signing import public_key

            verdict = verify_package_file(Path(args.file), trusted_key=public_key())
            assert verdict.intact, verdict.problems
            result.update(files=verdict.files_checked)
    result.update(
        seconds=time.monotonic() - started,
        maxrss_mb=_peak_rss_mb(),
    )
    print("RESULT " + json.dumps(result), flush=True)


def _run_child(*extra: str, storage: Path, packages: Path) -> dict:
    out = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--storage", str(storage), "--packages", str(packages), *extra],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _setup(args: argparse.Namespace, storage: Path) -> int:
    """A fresh agency with the captures and an approved disclosure; returns its id."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from audit.models import Action
    from audit.services import record_event
    from captures.models import Camera, Capture, Review
    from captures.releases.models import ALL_FIELDS, Disclosure
    from captures.storage import image_files
    from tenants.models import Agency
    from tenants.services import agency_create

    settings.ALPR_STORAGE_DIR = storage
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    old = Agency.objects.filter(slug=SLUG).first()
    if old is not None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{old.schema_name}" CASCADE')
        old.domains.all().delete()
        Agency.objects.filter(pk=old.pk).delete()
    agency = agency_create(slug=SLUG, name="Package benchmark", domain=f"{SLUG}.localhost").agency
    plate_png, vehicle_jpg = _images(args.vehicle_kb)
    _say(f"images: plate {len(plate_png) // 1024} KB, vehicle {len(vehicle_jpg) // 1024} KB")
    now = timezone.now()
    with schema_context(agency.schema_name):
        users = get_user_model()
        officer = users.objects.create_user(username="bench-officer", password=secrets.token_hex())
        admin = users.objects.create_user(username="bench-admin", password=secrets.token_hex())
        camera = Camera.objects.create(
            name="Bench cam", latitude=45.5, longitude=-122.6,
            key_prefix=secrets.token_hex(6), key_hash=secrets.token_hex(32),
        )  # fmt: skip
        ids = []
        for i in range(args.captures):
            captured_at = now - datetime.timedelta(minutes=5 + i)
            day = captured_at.astimezone(datetime.UTC).date()
            plate = f"B{i:06d}"
            capture = Capture.objects.create(
                camera=camera, captured_at=captured_at, latitude=45.5, longitude=-122.6,
                plate_image=image_files.store_image(day=day, data=plate_png),
                vehicle_image=image_files.store_image(day=day, data=vehicle_jpg),
                key_day=day, status="read", plate=plate, state="OR", machine_plate=plate,
                match_key=plate, review_status="confirmed", reviewed_by_username="bench-officer",
            )  # fmt: skip
            Review.objects.create(
                capture=capture, action="confirm", reviewer_id=officer.pk,
                reviewer_username=officer.username, plate_before=plate, plate_after=plate,
            )  # fmt: skip
            for _ in range(2):
                record_event(
                    action=Action.CAPTURE_VIEWED, actor=officer,
                    objects=[("capture", capture.pk)], details={"plate": plate, "source": "search"},
                )  # fmt: skip
            ids.append(capture.pk)
        disclosure = Disclosure.objects.create(
            status="approved", recipient_person="Bench", recipient_organisation="Bench DA",
            recipient_is_public_agency=True, recipient_jurisdiction="OR",
            legal_basis="court_order", requester="Bench", case_number="BENCH-1",
            justification="Benchmark", capture_ids=ids, capture_count=len(ids),
            fields_released=ALL_FIELDS, prepared_by_id=officer.pk,
            prepared_by_username=officer.username, decided_by_id=admin.pk,
            decided_by_username=admin.username, decided_at=now,
        )  # fmt: skip
        return disclosure.pk


def _new_package(disclosure_id: int) -> int:
    from django_tenants.utils import schema_context

    from captures.releases.models import EvidencePackage
    from tenants.models import Agency

    agency = Agency.objects.get(slug=SLUG)
    with schema_context(agency.schema_name):
        package = EvidencePackage.objects.create(
            disclosure_id=disclosure_id, total=0, requested_by_id=1, requested_by_username="bench"
        )
        package.total = package.disclosure.capture_count
        package.save(update_fields=["total"])
        return package.pk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--captures", type=int, default=500)
    parser.add_argument("--vehicle-kb", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=["build", "verify", "start"], help=argparse.SUPPRESS)
    parser.add_argument("--package", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--storage", help=argparse.SUPPRESS)
    parser.add_argument("--packages", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    ensure_database()
    work = Path(tempfile.mkdtemp(prefix="alpr-bench-package-", dir=ROOT / "var"))
    storage, packages = work / "images", work / "packages"
    try:
        started = time.monotonic()
        disclosure_id = _setup(args, storage)
        _say(f"set up {args.captures} captures in {time.monotonic() - started:.0f} s")
        dirs = {"storage": storage, "packages": packages}
        args.load_before = os.getloadavg()[0]
        baseline = _run_child("--child", "start", **dirs)
        builds, checks = [], []
        for run in range(args.runs):
            package_id = _new_package(disclosure_id)
            built = _run_child("--child", "build", "--package", str(package_id), **dirs)
            path = next(packages.glob(f"*/{built['file']}"))
            checked = _run_child("--child", "verify", "--file", str(path), **dirs)
            _say(f"run {run + 1}: build {built}, check {checked}")
            builds.append(built)
            checks.append(checked)
            path.unlink()
        _report(args, baseline, builds, checks)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _report(
    args: argparse.Namespace, baseline: dict, builds: list[dict], checks: list[dict]
) -> None:
    from tests.benchmarks.report import write_section

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(float(r[key]) for r in rows)

    size_mb = med(builds, "size") / (1024 * 1024)
    body = f"""
{args.captures} confirmed captures, each with a plate PNG and a vehicle JPEG of about
{args.vehicle_kb} KB (encrypted at rest), one review and two access-log entries; one approved
disclosure of all of them releasing everything. Each step runs in a fresh process; medians
of {args.runs} runs; {load_note(args.load_before)} Memory does not depend on the load.

| step | time | peak RSS (process) |
| --- | --- | --- |
| start Django only (baseline) | – | {baseline["maxrss_mb"]:.0f} MB |
| build the package (`package_build`, what the Celery task runs) | {med(builds, "seconds"):.1f} s | {med(builds, "maxrss_mb"):.0f} MB |
| check it (`verify_package_file`, what `verify_package` runs) | {med(checks, "seconds"):.1f} s | {med(checks, "maxrss_mb"):.0f} MB |

The package is {size_mb:.0f} MB ({med(checks, "files"):.0f} files listed in the manifest).
The build holds one image at a time: the ZIP is written entry by entry to a file, the
access-log entries are streamed from the database in chunks, and only the manifest's list of
file hashes grows with the package (a few hundred bytes per file). Requirement: under 300 MB
for 500 captures. (Rerun with `--captures 1500` to see the growth with the package's size.)
"""
    name = "package" if args.captures == 500 else f"package-{args.captures}"
    write_section(name, f"Evidence package: {args.captures} captures", body)
    _say("docs/PERFORMANCE.md updated")


if __name__ == "__main__":
    main()
