from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "alpr_portal"
    verbose_name = "ALPR portal"
