"""The agency URL conf plus one plate-data page, for the training gate tests."""

from django.http import HttpResponse
from django.urls import path

from alpr_portal.urls_agency import urlpatterns as agency_urlpatterns
from tenants.people.access import require_access
from tenants.people.roles import Role


@require_access(Role.OFFICER, trained=True)
def plate_data_probe(request):
    return HttpResponse("plate data")


urlpatterns = [path("probe/plate-data/", plate_data_probe), *agency_urlpatterns]
