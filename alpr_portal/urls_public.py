"""URLs of the platform host (public schema): landing page and platform admin."""

from django.urls import path

from alpr_portal import views
from tenants.admin import platform_admin_site

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.health, name="health"),
    path("admin/", platform_admin_site.urls),
]
