"""URLs of the platform host (public schema): landing page and platform admin."""

from django.contrib import admin
from django.urls import path

from alpr_portal import views

admin.site.site_header = "ALPR Portal — platform administration"
admin.site.site_title = "ALPR Portal"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.health, name="health"),
    path("admin/", admin.site.urls),
]
