"""Which schema the database connection is set to, typed.

django-tenants' connection carries ``schema_name``; Django's connection type does not declare
it, so the portal reads it here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, cast

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

PUBLIC_SCHEMA = "public"


class _TenantConnection(Protocol):
    schema_name: str

    def set_schema_to_public(self) -> None: ...


def current_schema() -> str:
    return cast(_TenantConnection, connection).schema_name


def use_public_schema() -> None:
    """Point the default connection back at ``public`` (django-tenants' connection method)."""
    cast(_TenantConnection, connection).set_schema_to_public()


# ``FROM "table"`` / ``JOIN "table"`` as Django's compiler writes them (names quoted, values
# always parameters, so no literal in the text can look like one).
_TABLE_REF = re.compile(r'\b(FROM|JOIN) "(\w+)"')


def qualified_sql(sql: str, schema: str) -> str:
    """Django's SQL for the current schema, with every table named in ``schema`` instead:
    the same query on that schema's own tables and indexes, whatever the search path is.
    Column references (``"captures_capture"."plate"``) still resolve: a schema-qualified
    table keeps its bare name."""
    quoted = connection.ops.quote_name(schema)
    return _TABLE_REF.sub(lambda m: f'{m.group(1)} {quoted}."{m.group(2)}"', sql)


def rows_in_schemas(parts: Sequence[tuple[str, QuerySet[Any]]]) -> list[list[tuple[Any, ...]]]:
    """Each ``values_list`` queryset run in its own schema, all in one statement.

    One ``UNION ALL`` of every part, each naming its schema's tables (``qualified_sql``), so
    a read across many agencies is one round trip instead of a ``SET search_path`` and a
    query per agency; no row leaves its schema except as this statement's answer. Returns
    the rows of each part, in its own order (a part's ``ORDER BY`` and ``LIMIT`` apply
    within it), converted as the ORM would. Every table a part names must be one of the agency
    schemas' own (a ``public`` table would be looked for in the agency's schema). The parts'
    column lists must agree (the same ``values_list`` over different schemas).
    """
    pieces: list[str] = []
    params: list[Any] = []
    compilers = {}
    for index, (schema, qs) in enumerate(parts):
        compiler = qs.query.get_compiler(using=qs.db)
        try:
            sql, part_params = compiler.as_sql()
        except EmptyResultSet:  # e.g. ``pk__in=[]``: no rows, nothing to ask
            continue
        pieces.append(
            # The row number, taken as the part's own query hands its rows out, keeps the
            # part's order through the union (which guarantees none by itself).
            f"(SELECT {int(index)} AS alpr_part, row_number() OVER () AS alpr_n, alpr_rows.* "  # noqa: S608 - no input in the text
            f"FROM ({qualified_sql(sql, schema)}) AS alpr_rows)"
        )
        params.extend(part_params)
        compilers[index] = compiler
    out: list[list[tuple[Any, ...]]] = [[] for _ in parts]
    if not pieces:
        return out
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(pieces) + " ORDER BY 1, 2", params)
        for row in cursor.fetchall():
            out[row[0]].append(tuple(row[2:]))
    for index, compiler in compilers.items():
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        if converters and out[index]:
            out[index] = [tuple(row) for row in compiler.apply_converters(out[index], converters)]
    return out
