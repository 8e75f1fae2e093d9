from django.apps import AppConfig


class HotlistsConfig(AppConfig):
    name = "captures.hotlists"
    label = "hotlists"
    verbose_name = "Hotlists and alerts"
    default_auto_field = "django.db.models.BigAutoField"
