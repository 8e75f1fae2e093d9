"""Demo step: a state extract with plates the simulator sends, and an agency list.

Runs before the cameras step, so the demo captures hit the list as they arrive (the camera's
own read at ingest, then the server's reading in the worker): the officer finds alerts to
confirm on first sign-in. ``manage.py simulate_cameras --agency demo --seed 2026`` (or
``--seed 1``) sends the same plates again through the running server, and the banner rings.
Idempotent: the extract is imported again (nothing changes when it is the same), the lists are
made once.
"""

from __future__ import annotations

import datetime
from io import TextIOBase

from django.utils import timezone
from django_tenants.utils import schema_context

from captures.hotlists.imports import hotlist_import
from captures.hotlists.models import Hotlist, HotlistPolicy
from captures.synthetic import simulate
from tenants.models import Agency

from .cameras import DEMO_SEED

EXTRACT = "Demo state NCIC extract"
AGENCY_LIST = "Demo PD entries (BOLO)"
REASONS = ["stolen_vehicle", "stolen_plate", "wanted_person", "amber_alert", "bolo"]
SEEDS = (DEMO_SEED, 1)  # the demo's captures, and ``simulate_cameras --seed 1``


def extract_csv(today: datetime.date) -> bytes:
    """The demo extract: the simulator's first regulars, with reasons, references, notes."""
    lines = ["plate,state,reason,reference,expires,notes"]
    plates = [plate for seed in SEEDS for plate in simulate.regular_plates(seed=seed, count=3)]
    for number, (state, text) in enumerate(dict.fromkeys(plates)):
        expires = (today + datetime.timedelta(days=60 + number)).isoformat()
        reason = REASONS[number % len(REASONS)]
        lines.append(
            f"{text},{state},{reason},V{202600100 + number},{expires},demo entry {number + 1}"
        )
    return ("\n".join(lines) + "\n").encode()


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    with schema_context(agency.schema_name):
        if not HotlistPolicy.objects.exists():
            HotlistPolicy.objects.create()
        extract, _ = Hotlist.objects.get_or_create(
            name=EXTRACT,
            defaults={"kind": Hotlist.Kind.EXTRACT, "owner": "State DOJ (demo)", "alerts": True},
        )
        Hotlist.objects.get_or_create(
            name=AGENCY_LIST,
            defaults={"kind": Hotlist.Kind.AGENCY, "owner": "Demo PD patrol", "alerts": True},
        )
        report = hotlist_import(
            agency=agency,
            hotlist=extract,
            data=extract_csv(timezone.localdate()),
            file_name="demo-extract.csv",
            username="seed_demo",
        )
    stdout.write(
        f"Hotlists: {EXTRACT} ({report.added} added, {report.unchanged} unchanged) and "
        f"{AGENCY_LIST} (typed-in entries, at /hotlists/)."
    )
