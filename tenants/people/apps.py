from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PeopleConfig(AppConfig):
    name = "tenants.people"
    label = "people"
    verbose_name = "People and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants.people.crypto import register_with_keyring

        register_with_keyring()


class PortalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the portal's OTP-verified site as ``admin.site``."""

    default = False  # named explicitly in INSTALLED_APPS; PeopleConfig is this module's default
    default_site = "tenants.people.admin_site.PortalAdminSite"
