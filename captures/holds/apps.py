from django.apps import AppConfig


class HoldsConfig(AppConfig):
    name = "captures.holds"
    label = "holds"
    verbose_name = "Legal holds"
    default_auto_field = "django.db.models.BigAutoField"
