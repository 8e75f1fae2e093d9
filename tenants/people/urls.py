"""Sign-in, sign-out and the user's own account (agency and platform hosts alike)."""

from django.urls import path

from tenants.people import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.verify_view, name="otp-verify"),
    path("login/enrol/", views.enrol_view, name="otp-enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("backup-codes/", views.backup_codes_view, name="backup-codes"),
    path("backup-codes/new/", views.backup_codes_regenerate_view, name="backup-codes-new"),
    path("me/", views.account_view, name="account"),
    path("me/password/", views.password_change_view, name="password-change"),
    path("training-due/", views.training_due_view, name="training-due"),
]
