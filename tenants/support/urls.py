"""Support access on an agency's host (mounted at /support/)."""

from django.urls import path

from tenants.support import views

app_name = "support"
urlpatterns = [
    path("", views.grants, name="grants"),
    path("new/", views.grant_new, name="grant-new"),
    path("<int:grant_id>/", views.grant_detail, name="grant"),
    path("<int:grant_id>/revoke/", views.grant_revoke, name="grant-revoke"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("session/", views.session, name="session"),
]
