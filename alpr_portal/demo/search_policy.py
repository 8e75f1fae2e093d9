"""Demo step 3, the search policy: an example prohibited term (purposes come with migrations)."""

from __future__ import annotations

from io import TextIOBase

from django_tenants.utils import schema_context

from captures.models import AuthorizedPurpose, ProhibitedTerm
from tenants.models import Agency

DEMO_PROHIBITED = [
    ("immigration enforcement", "Local law forbids using plate data for immigration enforcement."),
    ("protest", "Lawful First Amendment activity may not be the subject of a search."),
]


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    with schema_context(agency.schema_name):
        for term, reason in DEMO_PROHIBITED:
            ProhibitedTerm.objects.get_or_create(term=term, defaults={"reason": reason})
        purposes = AuthorizedPurpose.objects.filter(active=True).count()
    stdout.write(
        f"Search policy: {purposes} authorized purposes, {len(DEMO_PROHIBITED)} prohibited terms."
    )
