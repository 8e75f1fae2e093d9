"""The three roles of an agency, stored as auth groups so the admin can manage them."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from django.contrib.auth.models import Group


class Role(StrEnum):
    ADMINISTRATOR = "Administrator"
    OFFICER = "Officer"
    AUDITOR = "Auditor"

    @classmethod
    def parse(cls, value: str) -> Role:
        for role in cls:
            if role.value.lower() == value.strip().lower():
                return role
        allowed = ", ".join(r.value.lower() for r in cls)
        raise ValueError(f"Unknown role {value!r}; choose one of {allowed}.")


def role_group(role: Role) -> Group:
    group, _ = Group.objects.get_or_create(name=role.value)
    return group


def assign_roles(user, roles: Iterable[Role]) -> None:
    user.groups.add(*(role_group(role) for role in roles))


def user_roles(user) -> frozenset[Role]:
    """The user's roles, cached on the instance for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_alpr_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in Role if role.value in names)
        user._alpr_roles = cached
    return cached


def has_role(user, *roles: Role) -> bool:
    """True when the user holds any of ``roles``."""
    held = user_roles(user)
    return any(role in held for role in roles)
