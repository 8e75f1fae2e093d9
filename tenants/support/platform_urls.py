"""Support access on the platform host (mounted at /support/): the grants naming you."""

from django.urls import path

from tenants.support import views

app_name = "support"
urlpatterns = [
    path("", views.platform_grants, name="platform-grants"),
]
