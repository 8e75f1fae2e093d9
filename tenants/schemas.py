"""Which schema the database connection is set to, typed.

django-tenants' connection carries ``schema_name``; Django's connection type does not declare
it, so the portal reads it here.
"""

from __future__ import annotations

from typing import Protocol, cast

from django.db import connection

PUBLIC_SCHEMA = "public"


class _TenantConnection(Protocol):
    schema_name: str


def current_schema() -> str:
    return cast(_TenantConnection, connection).schema_name
