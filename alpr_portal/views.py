from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from alpr_portal import health as health_checks
from alpr_portal.home import home_tasks
from alpr_portal.observability import exposition
from tenants.models import Agency
from tenants.people.access import health_view, metrics_view, public_view, require_access
from tenants.schemas import PUBLIC_SCHEMA


@public_view
@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """The platform's public landing page: what this is and where each agency lives."""
    agencies = Agency.objects.exclude(schema_name="public").prefetch_related("domains")
    return render(request, "public/landing.html", {"agencies": agencies})


@health_view
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Database, Redis, beat, workers, queues and the nightly jobs (alpr_portal.health); 503
    when anything is stale. On an agency's host only that agency's nightly jobs."""
    tenant = getattr(request, "tenant", None)
    agencies = None if tenant is None or tenant.schema_name == PUBLIC_SCHEMA else [tenant]
    report = health_checks.report(agencies=agencies)
    return JsonResponse(report.as_json(), status=200 if report.ok else 503)


@metrics_view
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format (alpr_portal.observability), for ALPR_METRICS_ALLOW or the token."""
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


@require_access()
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The agency's home page: what is waiting for this person's roles, then their pages."""
    agency = getattr(connection, "tenant", None)
    tasks = home_tasks(request, agency) if isinstance(agency, Agency) else []
    return render(request, "home.html", {"tasks": tasks})
