from django.db import connection
from django.urls import reverse

from alpr_portal.navigation import nav_items
from tenants.people.roles import Role, has_role, user_roles

# Officers and Administrators see the hotlist alert banner on every page (the poll itself
# also requires current training; an untrained user's poll is refused and stops).
ALERT_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)


def alert_urls() -> dict[str, str]:
    return {
        "alert_poll_url": reverse("captures:alerts-poll"),
        "alert_list_url": reverse("captures:alerts"),
    }


def portal(request):
    tenant = getattr(connection, "tenant", None)
    agency = tenant if tenant is not None and tenant.schema_name != "public" else None
    user = getattr(request, "user", None)
    roles = sorted(role.value for role in user_roles(user))
    may_alert = agency is not None and user is not None and user.is_authenticated
    return {
        **(alert_urls() if may_alert and has_role(user, *ALERT_ROLES) else {}),
        "agency": agency,
        "user_roles": roles,
        "nav_items": nav_items(request)
        if agency is not None and user is not None and user.is_authenticated
        else [],
    }
