"""The access log: one row per event, in the schema of the agency it belongs to."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOCKOUT = "lockout", "Account locked"
    UNLOCK = "unlock", "Account unlocked"
    LOGOUT = "logout", "Logout"
    MFA_ENROLLED = "mfa_enrolled", "Second factor enrolled"
    MFA_RESET = "mfa_reset", "Second factor reset"
    USER_CREATED = "user_created", "User created"
    USER_CHANGED = "user_changed", "User changed"
    ROLE_CHANGED = "role_changed", "Roles changed"
    TRAINING_CHANGED = "training_changed", "Training recorded"
    SEARCH = "search", "Plate search"
    CAPTURE_VIEWED = "capture_viewed", "Capture viewed"
    IMAGE_VIEWED = "image_viewed", "Image viewed"
    REVIEW = "review", "Read reviewed"
    EXPORT = "export", "Export"
    CAMERA_CHANGED = "camera_changed", "Camera changed"
    SETTINGS_CHANGED = "settings_changed", "Settings changed"
    PURGE = "purge", "Retention purge"
    AUDIT_VERIFIED = "audit_verified", "Access log verified"
    FLAG_REVIEWED = "flag_reviewed", "Flag reviewed"
    REPORT = "report", "Audit report generated"


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


class AccessEvent(models.Model):
    """Who did what, when, why, to which objects, and whether it was allowed.

    Objects are stored by reference (type and id) so the entry outlives a purged capture.
    """

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.ALLOWED)
    reason = models.TextField(blank=True)
    purpose_category = models.CharField(max_length=100, blank=True)
    purpose_text = models.TextField(blank=True)
    case_number = models.CharField(max_length=100, blank=True)
    query = models.JSONField(default=dict, blank=True)
    objects_touched = models.JSONField(default=list, blank=True)
    related_event_id = models.BigIntegerField(
        null=True, blank=True, help_text="The search that led to this view, when there was one."
    )
    details = models.JSONField(default=dict, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["actor_id", "-id"], name="accessevent_actor_id"),
            models.Index(fields=["action", "-id"], name="accessevent_action_id"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_username or '-'} {self.action}"
