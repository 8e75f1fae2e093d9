from django.apps import AppConfig


class CapturesConfig(AppConfig):
    name = "captures"
    verbose_name = "Cameras and captures"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from captures import purpose_admin  # noqa: F401  (admin pages of the search policy)
