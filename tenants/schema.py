"""The schema the database connection is in, typed.

django-tenants adds ``schema_name`` to the connection at run time; Django's type stubs do not
know it, so code that needs the current schema asks here instead of reading the attribute.
"""

from __future__ import annotations

from django.db import connection

PUBLIC_SCHEMA = "public"


def current_schema() -> str:
    """The schema name the default connection uses now (``public`` outside any agency)."""
    name: str = getattr(connection, "schema_name", PUBLIC_SCHEMA)
    return name
