"""URLs of an agency's host (the agency's schema)."""

from django.contrib import admin
from django.urls import include, path

from alpr_portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    # Sign-in (names login, logout, otp-verify, otp-enrol), the user's account, training due.
    path("accounts/", include("tenants.people.urls")),
    path("audit/incidents/", include("audit.incidents.urls")),
    path("audit/", include("audit.urls")),
    path("api/", include("captures.ingest.urls")),
    path("", include("captures.transparency.urls")),
    path("", include("captures.urls")),
    path("holds/", include("captures.holds.urls")),
    path("releases/", include("captures.releases.urls")),
    path("admin/", admin.site.urls),
]
