from django.apps import AppConfig


class CapturesConfig(AppConfig):
    name = "captures"
    verbose_name = "Cameras and captures"
    default_auto_field = "django.db.models.BigAutoField"
