from django.apps import AppConfig

# The reading in force and its review: their changes are kept in django-auditlog's history
# (the retention purge drops a purged capture's entries with it).
CAPTURE_HISTORY_FIELDS = ["plate", "state", "review_status", "reviewed_by_username"]


class CapturesConfig(AppConfig):
    name = "captures"
    verbose_name = "Cameras and captures"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from captures.models import Capture
        from captures.storage import image_files
        from tenants import keyring

        # Rotation of the master key re-wraps the per-day image keys (agency schemas only).
        keyring.register_reseal_step(
            name="captures.data_keys",
            label="image data keys",
            run=image_files.rewrap_data_keys,
            verb="re-wrapped",
        )

        if not auditlog.contains(Capture):
            auditlog.register(Capture, include_fields=CAPTURE_HISTORY_FIELDS)
