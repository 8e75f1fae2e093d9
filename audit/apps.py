from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Access log and audit"
    default_auto_field = "django.db.models.BigAutoField"
