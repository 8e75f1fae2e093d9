"""Re-seal everything made from the master key under the current one (see README, "Keys").

Rotation, step by step:

1. Generate a new key: ``python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'``.
2. Put the OLD key in a file readable only by you. Configure the NEW key as ``ALPR_MASTER_KEY``
   / ``ALPR_MASTER_KEY_FILE`` and, until step 4, the old key as ``ALPR_OLD_MASTER_KEY_FILE``
   (read-only: what is still under it keeps opening); restart web and workers.
3. Run ``manage.py rotate_master_key --old-key-file /path/to/old.key``. In the platform schema
   and every agency schema, one transaction each: image data keys, TOTP secrets and the
   backup-code digest key (and whatever else registered with the keyring) are re-sealed. What
   is already under the new key is skipped, so running it again is harmless; it exits non-zero,
   naming the schema, if something is under a key that was not given (that schema is unchanged).
   Each schema rotated records ``key_rotated`` (fingerprints and counts) in its access log.
4. Run it again: everything "already current". Remove ``ALPR_OLD_MASTER_KEY_FILE``, restart,
   destroy the old key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants import keyring


class Command(BaseCommand):
    help = (
        "Re-seal image data keys, TOTP secrets and backup-code digest keys of the platform and "
        "every agency under the current ALPR_MASTER_KEY. Give the old key with --old-key-file "
        "(repeatable), ALPR_OLD_MASTER_KEY or ALPR_OLD_MASTER_KEY_FILE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--old-key-file",
            action="append",
            default=[],
            metavar="PATH",
            help="File holding a previous master key (base64 or 64 hex characters).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        old_keys: list[bytes] = []
        for path in options["old_key_file"]:
            try:
                text = Path(path).read_text()
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
            old_keys.append(self._parse(text, str(path)))
        # Also read at run time (not only through settings), for a one-off shell variable.
        if os.environ.get("ALPR_OLD_MASTER_KEY", "").strip():
            old_keys.append(self._parse(os.environ["ALPR_OLD_MASTER_KEY"], "ALPR_OLD_MASTER_KEY"))
        try:
            self.stdout.write(f"Current master key id: {keyring.current_key_id()}")
            reports = keyring.rotate(old_keys=old_keys)
        except keyring.KeyringError as exc:
            raise CommandError(str(exc)) from None

        totals: dict[str, tuple[int, int, str]] = {}
        failed: list[keyring.SchemaReport] = []
        for report in reports:
            if report.error:
                failed.append(report)
                self.stdout.write(self.style.ERROR(f"{report.schema}: NOT rotated: {report.error}"))
                continue
            parts = []
            for step, count in report.counts:
                text = (
                    f"{step.label} {count.resealed} {step.verb}, "
                    f"{count.already_current} already current"
                )
                if count.destroyed:
                    text += f", {count.destroyed} destroyed"
                if count.note:
                    text += f" ({count.note})"
                parts.append(text)
                done, current, verb = totals.get(step.label, (0, 0, step.verb))
                totals[step.label] = (done + count.resealed, current + count.already_current, verb)
            self.stdout.write(f"{report.schema}: " + "; ".join(parts))
        if failed:
            names = ", ".join(r.schema for r in failed)
            raise CommandError(
                f"{len(failed)} schema(s) not rotated ({names}): {failed[0].error} "
                "The other schemas were rotated; run the command again with the missing key."
            )
        summary = "; ".join(
            f"{label} {done} {verb}, {current} already current"
            for label, (done, current, verb) in totals.items()
        )
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))

    @staticmethod
    def _parse(text: str, source: str) -> bytes:
        try:
            return keyring.parse_key(text, source=source)
        except keyring.KeyringError as exc:
            raise CommandError(str(exc)) from None
