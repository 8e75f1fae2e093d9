"""Smoke-test a running production stack (``alpr_portal.prodcheck``; ``make prod-check``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alpr_portal import prodcheck


class Command(BaseCommand):
    help = (
        "Against a running gunicorn and Celery workers: static files, the HTTPS redirect, a "
        "camera POST, the worker's reading, an officer's sign-in and search, the access log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8040")
        parser.add_argument("--agency", default="prodcheck", help="slug (created when missing)")
        parser.add_argument("--host", help="the agency's host (default <slug>.localhost)")
        parser.add_argument("--read-timeout", type=float, default=90.0)

    def handle(self, *args: object, **options: object) -> None:
        slug = str(options["agency"])
        host = str(options["host"] or f"{slug}.localhost")

        def say(line: str) -> None:
            self.stdout.write(f"[smoke] {line}")
            self.stdout.flush()

        try:
            prodcheck.run(
                base_url=str(options["base_url"]).rstrip("/"),
                slug=slug,
                host=host,
                read_timeout=float(str(options["read_timeout"])),
                say=say,
            )
        except prodcheck.SmokeFailed as exc:
            raise CommandError(f"smoke test failed: {exc}") from None
        say("passed")
