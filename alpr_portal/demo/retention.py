"""Demo step 5, last: one retention purge after every step that adds captures, then the check.

The run shows in the demo's access log and on its transparency page.
"""

from __future__ import annotations

from io import TextIOBase

from captures.retention.checks import verify_retention
from captures.retention.services import NIGHTLY_USERNAME, purge_expired
from tenants.models import Agency


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    result = purge_expired(agency=agency, username=NIGHTLY_USERNAME)
    stdout.write(
        f"Retention purge ran for {agency.slug}: {result.captures_deleted} expired captures and "
        f"{result.files_deleted + result.orphan_files_deleted} files deleted, "
        f"{result.keys_destroyed} day keys destroyed."
    )
    report = verify_retention(agency=agency)
    stdout.write(
        f"verify_retention for {agency.slug}: {'OK' if report.ok else 'FAILED'} "
        f"({'; '.join(report.lines()[:4])})."
    )
