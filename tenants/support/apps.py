from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "tenants.support"
    label = "support"
    verbose_name = "Support access"
    default_auto_field = "django.db.models.BigAutoField"
