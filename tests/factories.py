"""Test data builders. Users are created inside their agency's schema."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.people.roles import Role, assign_roles

DEFAULT_PASSWORD = "correct-horse-battery-staple-42"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def make_user(
    agency: Agency,
    *,
    username: str | None = None,
    roles: Iterable[Role] = (Role.OFFICER,),
    password: str = DEFAULT_PASSWORD,
    is_active: bool = True,
):
    """A user of ``agency`` holding ``roles``."""
    username = username or unique("user")
    with schema_context(agency.schema_name):
        user = get_user_model().objects.create_user(
            username=username,
            email=f"{username}@{agency.slug}.invalid",
            password=password,
            is_active=is_active,
            is_staff=Role.ADMINISTRATOR in set(roles),
        )
        assign_roles(user, roles)
    return user
