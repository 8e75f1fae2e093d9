from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "tenants.sharing"
    label = "sharing"
    verbose_name = "Sharing between agencies"
    default_auto_field = "django.db.models.BigAutoField"
