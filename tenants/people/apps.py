from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "tenants.people"
    label = "people"
    verbose_name = "People and access"
    default_auto_field = "django.db.models.BigAutoField"
