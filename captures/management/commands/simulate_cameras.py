"""Push realistic synthetic captures through the real camera API.

    manage.py simulate_cameras --agency demo --count 200 --rate 5
    manage.py simulate_cameras --agency demo --count 2000 --concurrency 4 --server http://127.0.0.1:8000
    manage.py simulate_cameras --agency demo --count 50 --in-process     # no server needed

The simulated cameras ("Sim: ...") are created on first use and get fresh keys each run.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from captures.synthetic import simulate
from tenants.models import Agency
from tenants.schemas import use_public_schema


class Command(BaseCommand):
    help = "Push synthetic plate captures through the camera API (demos and load tests)."

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="Agency slug.")
        parser.add_argument("--count", type=int, required=True, help="Captures to send.")
        parser.add_argument("--rate", type=float, default=None, help="At most R per second.")
        parser.add_argument("--cameras", type=int, default=len(simulate.DEFAULT_CAMERAS))
        parser.add_argument("--concurrency", type=int, default=1, help="Requests in flight.")
        parser.add_argument(
            "--server",
            default="http://127.0.0.1:8000",
            help="Base URL of the running portal (the agency's host is sent as Host).",
        )
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Send through Django's request stack in this process instead of HTTP.",
        )
        parser.add_argument("--seed", type=int, default=None, help="Same seed, same captures.")
        parser.add_argument(
            "--spread-hours",
            type=float,
            default=0.0,
            help="Spread capture times over the last H hours (default: now).",
        )

    def handle(self, *args, **options):
        if options["count"] < 1:
            raise CommandError("--count must be at least 1.")
        if options["rate"] is not None and options["rate"] <= 0:
            raise CommandError("--rate must be more than 0.")
        agency = Agency.objects.filter(slug=options["agency"]).first()
        if agency is None or agency.schema_name == "public":
            raise CommandError(f"No agency with the slug {options['agency']!r}.")
        host = simulate.agency_host(agency)
        cameras = simulate.ensure_cameras(agency, count=max(1, options["cameras"]))
        if not cameras:
            raise CommandError("All simulated cameras are deactivated.")
        use_public_schema()
        send: simulate.InProcessTransport | simulate.HttpTransport
        if options["in_process"]:
            send = simulate.InProcessTransport(host=host)
        else:
            send = simulate.HttpTransport(server=options["server"], host=host)
        seed = options["seed"] if options["seed"] is not None else int.from_bytes(os.urandom(4))
        requests = simulate.generate(
            cameras, count=options["count"], seed=seed, spread_hours=options["spread_hours"]
        )
        result = simulate.run(
            requests, send, rate=options["rate"], concurrency=options["concurrency"]
        )
        for error in result.errors[:5]:
            self.stderr.write(f"refused: {error}")
        self.stdout.write(result.summary())
        if result.accepted == 0:
            raise CommandError("No capture was accepted; see the messages above.")
