from django.db import connection

from alpr_portal.navigation import nav_items
from tenants.people.roles import user_roles


def portal(request):
    tenant = getattr(connection, "tenant", None)
    agency = tenant if tenant is not None and tenant.schema_name != "public" else None
    user = getattr(request, "user", None)
    roles = sorted(role.value for role in user_roles(user))
    return {
        "agency": agency,
        "user_roles": roles,
        "nav_items": nav_items(request)
        if agency is not None and user is not None and user.is_authenticated
        else [],
    }
