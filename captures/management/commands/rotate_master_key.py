"""Re-wrap every agency's image data keys with the current master key.

Rotation, step by step:

1. Generate a new key: ``python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'``.
2. Put the OLD key in a file readable only by you (or in the environment variable
   ``ALPR_OLD_MASTER_KEY``), and configure the NEW key as ``ALPR_MASTER_KEY`` /
   ``ALPR_MASTER_KEY_FILE``.
3. Run ``manage.py rotate_master_key --old-key-file /path/to/old.key``. Every data key
   wrapped by the old key is unwrapped and wrapped again by the new one, for all agencies
   in one transaction: on any problem nothing changes. Running it again is harmless.
4. Restart the web and worker processes with the new key, then destroy the old key.

Image files are not touched: only the small wrapped data keys change.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from alpr_portal.env import ConfigError, parse_master_key
from captures.storage import ImageStorageError, master_key_id, rewrap_data_keys
from tenants.models import Agency


class Command(BaseCommand):
    help = (
        "Re-wrap all agencies' image data keys with the current ALPR_MASTER_KEY. Give the old "
        "key with --old-key-file (repeatable) or the ALPR_OLD_MASTER_KEY environment variable."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--old-key-file",
            action="append",
            default=[],
            metavar="PATH",
            help="File holding a previous master key (base64 or 64 hex characters).",
        )

    def handle(self, *args, **options):
        from django.conf import settings

        old_keys: list[bytes] = []
        for path in options["old_key_file"]:
            try:
                text = Path(path).read_text()
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
            old_keys.append(self._parse(text, path))
        if os.environ.get("ALPR_OLD_MASTER_KEY", "").strip():
            old_keys.append(self._parse(os.environ["ALPR_OLD_MASTER_KEY"], "ALPR_OLD_MASTER_KEY"))
        current_id = master_key_id(settings.ALPR_MASTER_KEY)
        self.stdout.write(f"Current master key id: {current_id}")
        totals = {"rewrapped": 0, "already_current": 0, "destroyed": 0}
        agencies = Agency.objects.exclude(schema_name=get_public_schema_name()).order_by("slug")
        try:
            with transaction.atomic():
                for agency in agencies:
                    with schema_context(agency.schema_name):
                        result = rewrap_data_keys(old_master_keys=old_keys)
                    self.stdout.write(
                        f"{agency.slug}: {result.rewrapped} re-wrapped, "
                        f"{result.already_current} already current, {result.destroyed} destroyed"
                    )
                    for field in totals:
                        totals[field] += getattr(result, field)
        except ImageStorageError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {totals['rewrapped']} data keys re-wrapped, "
                f"{totals['already_current']} already current."
            )
        )

    @staticmethod
    def _parse(text: str, source: str) -> bytes:
        try:
            return parse_master_key(text, source=source)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
