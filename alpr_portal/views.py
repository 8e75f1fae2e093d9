from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from alpr_portal.home import home_tasks
from tenants.models import Agency
from tenants.people.access import public_view, require_access


@public_view
@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """The platform's public landing page: what this is and where each agency lives."""
    agencies = Agency.objects.exclude(schema_name="public").prefetch_related("domains")
    return render(request, "public/landing.html", {"agencies": agencies})


@public_view
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_access()
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The agency's home page: what is waiting for this person's roles, then their pages."""
    agency = getattr(connection, "tenant", None)
    tasks = home_tasks(request, agency) if isinstance(agency, Agency) else []
    return render(request, "home.html", {"tasks": tasks})
