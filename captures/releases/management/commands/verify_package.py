"""``manage.py verify_package FILE [--public-key PEM]``: check an evidence package.

Exit status: 0 intact and signed by the agency's key; 1 tampered (a file changed, missing or
added, or the signature does not verify); 2 the files and signature agree but the key could
not be checked against the agency's (no agency of that name here and no ``--public-key``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from captures.releases import signing
from captures.releases.package import Verdict, parse_public_key, verify_package_file
from tenants.models import Agency


def _agency_key(slug: str):
    agency = Agency.objects.filter(slug=slug).exclude(schema_name="public").first()
    if agency is None:
        return None
    with schema_context(agency.schema_name):
        return signing.public_key(create=False)


class Command(BaseCommand):
    help = (
        "Verify an evidence package: the SHA-256 of every file against manifest.json, no file "
        "added, and manifest.sig under the agency's Ed25519 key. Exits 1 when tampered."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The package (ZIP) to check.")
        parser.add_argument(
            "--public-key",
            metavar="PEM",
            help="The agency's public key (PEM, as on its transparency page); default: the "
            "key of the agency named in the manifest, from this portal's database.",
        )

    def _trusted_key(self, options, slug: str):
        if options["public_key"]:
            try:
                return parse_public_key(Path(options["public_key"]).read_bytes()), "--public-key"
            except (OSError, ValueError) as exc:
                raise CommandError(f"--public-key {options['public_key']}: {exc}") from None
        if slug:
            key = _agency_key(slug)
            if key is not None:
                return key, f"agency {slug}'s key in this portal"
        return None, ""

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        first = verify_package_file(path, trusted_key=None)
        slug = str((first.manifest or {}).get("agency", ""))
        key, source = self._trusted_key(options, slug)
        verdict = verify_package_file(path, trusted_key=key) if key is not None else first
        self._report(path, verdict, source)
        if verdict.problems:
            sys.exit(1)
        if not verdict.key_trusted:
            sys.exit(2)

    def _report(self, path: Path, verdict: Verdict, source: str) -> None:
        manifest = verdict.manifest or {}
        self.stdout.write(f"Package: {path}")
        if manifest:
            self.stdout.write(
                f"Agency: {manifest.get('agency_name')} ({manifest.get('agency')}); disclosure "
                f"#{manifest.get('disclosure_id')}, case {manifest.get('case_number')}; "
                f"created {manifest.get('created_at')}; key id {manifest.get('key_id')}"
            )
        self.stdout.write(f"Files checked: {verdict.files_checked}")
        for problem in verdict.problems:
            self.stdout.write(f"  PROBLEM: {problem}")
        if verdict.problems:
            self.stdout.write(
                self.style.ERROR("VERDICT: TAMPERED - this package is not as the agency signed it.")
            )
        elif verdict.key_trusted:
            self.stdout.write(
                self.style.SUCCESS(
                    f"VERDICT: INTACT - every file matches the manifest and the signature "
                    f"verifies with {source}."
                )
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    "VERDICT: UNCONFIRMED KEY - the files match the manifest and the signature "
                    "verifies with the key inside the package, but that key was not checked "
                    "against the agency's: pass --public-key with the key from the agency's "
                    "transparency page."
                )
            )
