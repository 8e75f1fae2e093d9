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

    def set_schema_to_public(self) -> None: ...


def current_schema() -> str:
    return cast(_TenantConnection, connection).schema_name


def use_public_schema() -> None:
    """Point the default connection back at ``public`` (django-tenants' connection method)."""
    cast(_TenantConnection, connection).set_schema_to_public()
