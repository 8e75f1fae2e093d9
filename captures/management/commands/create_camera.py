"""Create a camera of an agency and print its API key once, as ``api_key=...``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from captures.ingest.services import CameraError, camera_create
from tenants.models import Agency


class Command(BaseCommand):
    help = "Create a camera and print its API key (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="Agency slug.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--latitude", type=float, default=None)
        parser.add_argument("--longitude", type=float, default=None)
        parser.add_argument("--direction", default="", help="e.g. northbound")

    def handle(self, *args, **options):
        agency = Agency.objects.filter(slug=options["agency"]).first()
        if agency is None or agency.schema_name == "public":
            raise CommandError(f"No agency with the slug {options['agency']!r}.")
        lat, lon = options["latitude"], options["longitude"]
        if (lat is None) != (lon is None):
            raise CommandError("Give both --latitude and --longitude, or neither.")
        if lat is None:
            lat = lon = 0.0
            self.stderr.write(
                "No position given: the camera is placed at 0, 0; set it in the admin."
            )
        with schema_context(agency.schema_name):
            try:
                created = camera_create(
                    name=options["name"],
                    latitude=lat,
                    longitude=lon,
                    direction=options["direction"],
                )
            except CameraError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(f"Camera {created.camera.name!r} created for {agency.slug}.")
        self.stdout.write("Store this key in the camera now; it is not shown again:")
        self.stdout.write(f"api_key={created.api_key}")
