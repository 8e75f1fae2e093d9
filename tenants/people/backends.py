"""Authentication backend: Django's, plus "an agency Administrator may manage the agency".

Inside an agency schema, an active Administrator holds every model permission of that
schema (the admin pages still refuse what a ModelAdmin forbids, e.g. editing the access log).
In ``public`` only Django's own permissions apply (platform staff, superusers).
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from tenants.people.roles import Role, has_role


def _is_agency_administrator(user) -> bool:
    return (
        user is not None
        and user.is_active
        and getattr(connection, "schema_name", "public") != "public"
        and has_role(user, Role.ADMINISTRATOR)
    )


class RoleBackend(ModelBackend):
    def has_perm(self, user_obj, perm, obj=None) -> bool:
        if _is_agency_administrator(user_obj):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        if _is_agency_administrator(user_obj):
            return True
        return super().has_module_perms(user_obj, app_label)
