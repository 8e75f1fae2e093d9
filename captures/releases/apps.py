from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "captures.releases"
    label = "releases"
    verbose_name = "Releases outside the agency"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from captures.releases.signing import register_with_keyring

        register_with_keyring()
