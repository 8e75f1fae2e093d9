"""URLs of an agency's host (the agency's schema)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from alpr_portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("tenants.people.urls")),
    path("audit/", include("audit.urls")),
    path("api/", include("captures.api_urls")),
    path("", include("captures.public_urls")),
    path("", include("captures.urls")),
    path("admin/", admin.site.urls),
]
