from django.apps import AppConfig


class KeyringConfig(AppConfig):
    name = "tenants.keyring"
    label = "keyring"
    verbose_name = "Keys"
    default_auto_field = "django.db.models.BigAutoField"
