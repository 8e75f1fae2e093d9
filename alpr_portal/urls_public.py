"""URLs of the platform host (public schema): landing page and platform admin."""

from django.urls import include, path

from alpr_portal import views
from tenants.admin import platform_admin_site

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    # Platform staff sign in with a second factor too (names login, logout, otp-verify, ...).
    path("accounts/", include("tenants.people.urls")),
    path("admin/", platform_admin_site.urls),
    # The support grants agencies gave the signed-in staff member (read from their schemas).
    path("support/", include("tenants.support.platform_urls")),
]
