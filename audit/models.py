"""The access log: one row per event, in the schema of the agency it belongs to.

Rows are append-only (database triggers, see migration 0002) and hash-chained: each
entry's ``entry_hash`` is SHA-256 over its canonical serialization, which includes the
previous entry's hash (``audit/chain.py``).
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64
MIN_LOG_RETENTION_DAYS = 365


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
    REVIEW_SESSION = "review_session", "Review session started"
    CAPTURE_VIEWED = "capture_viewed", "Capture viewed"
    IMAGE_VIEWED = "image_viewed", "Image viewed"
    RESULTS_VIEWED = "results_viewed", "Search results viewed"
    REVIEW = "review", "Read reviewed"
    EXPORT = "export", "Export"
    CAMERA_CHANGED = "camera_changed", "Camera changed"
    SETTINGS_CHANGED = "settings_changed", "Settings changed"
    PURGE = "purge", "Retention purge"
    AUDIT_VERIFIED = "audit_verified", "Access log verified"
    FLAG_REVIEWED = "flag_reviewed", "Flag reviewed"
    REPORT = "report", "Audit report generated"
    LOG_PRUNED = "log_pruned", "Old access-log entries removed"
    KEY_ROTATED = "key_rotated", "Master key rotated"
    SUPPORT_GRANTED = "support_granted", "Support access granted"
    SUPPORT_REVOKED = "support_revoked", "Support access revoked"
    SUPPORT_SIGN_IN = "support_sign_in", "Support sign-in (platform staff)"
    SUPPORT_REQUEST = "support_request", "Page requested under support access"
    HOTLIST_CHANGED = "hotlist_changed", "Hotlist or hotlist policy changed"
    HOTLIST_IMPORTED = "hotlist_imported", "Hotlist imported"
    HOTLIST_ENTRY_ADDED = "hotlist_entry_added", "Hotlist entry added"
    HOTLIST_ENTRY_CHANGED = "hotlist_entry_changed", "Hotlist entry changed"
    HOTLIST_ENTRY_REMOVED = "hotlist_entry_removed", "Hotlist entry removed"
    ALERT_VIEWED = "alert_viewed", "Hotlist alert viewed"
    ALERT_DECIDED = "alert_decided", "Hotlist alert checked"
    ALERT_ACTED = "alert_acted", "Hotlist alert acted on"
    HOTLIST_PURGE = "hotlist_purge", "Expired hotlist entries and hits removed"
    HOLD_PLACED = "hold_placed", "Legal hold placed"
    HOLD_RENEWED = "hold_renewed", "Legal hold renewed"
    HOLD_RELEASED = "hold_released", "Legal hold lifted"
    HOLD_VIEWED = "hold_viewed", "Held captures viewed"
    INCIDENT_OPENED = "incident_opened", "Incident opened"
    INCIDENT_CHANGED = "incident_changed", "Incident changed"
    INCIDENT_CLOSED = "incident_closed", "Incident closed"
    INCIDENT_VIEWED = "incident_viewed", "Incident viewed"
    INCIDENT_REMINDER = "incident_reminder", "Incident notification reminder sent"
    # Releases outside the agency (captures/releases): the register and evidence packages.
    DISCLOSURE_PREPARED = "disclosure_prepared", "Disclosure prepared"
    DISCLOSURE_APPROVED = "disclosure_approved", "Disclosure approved"
    DISCLOSURE_REFUSED = "disclosure_refused", "Disclosure refused"
    DISCLOSURE_VIEWED = "disclosure_viewed", "Disclosure viewed"
    PACKAGE_BUILT = "package_built", "Evidence package built"
    SHARE_OFFERED = "share_offered", "Sharing offered"
    SHARE_ACCEPTED = "share_accepted", "Sharing accepted"
    SHARE_RENEWED = "share_renewed", "Sharing renewed"
    SHARE_REVOKED = "share_revoked", "Sharing revoked"
    EXTERNAL_SEARCH = "external_search", "Search by another agency"
    EXTERNAL_VIEW = "external_view", "Capture viewed by another agency"


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


class AccessEvent(models.Model):
    """Who did what, when, why, to which objects, and whether it was allowed.

    Objects are stored by reference (type and id) so the entry outlives a purged capture.
    Never update or delete a row: the database refuses it.
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
        null=True,
        blank=True,
        help_text="The search or review session that led to this entry, when there was one.",
    )
    details = models.JSONField(default=dict, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64, default=GENESIS_HASH, editable=False)
    entry_hash = models.CharField(max_length=64, default="", editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["actor_id", "-id"], name="accessevent_actor_id"),
            models.Index(fields=["action", "-id"], name="accessevent_action_id"),
            models.Index(fields=["actor_username", "-id"], name="accessevent_username_id"),
            # A user's entries in a date range (the auditor's most common filter).
            models.Index(fields=["actor_username", "occurred_at"], name="accessevent_username_at"),
            models.Index(fields=["case_number", "-id"], name="accessevent_case_id"),
            # Plate and other query elements: ``query__contains={"plate": ...}``.
            GinIndex(fields=["query"], opclasses=["jsonb_path_ops"], name="accessevent_query_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_username or '-'} {self.action}"


class ChainAnchor(models.Model):
    """Where the chain starts after old entries were pruned (append-only, like the log).

    ``last_removed_hash`` is the hash of the newest removed entry: the first remaining
    entry must name it as its ``prev_hash``.
    """

    created_at = models.DateTimeField(default=timezone.now)
    cutoff = models.DateTimeField(help_text="Entries before this instant were removed.")
    last_removed_id = models.BigIntegerField()
    last_removed_hash = models.CharField(max_length=64)
    removed_count = models.BigIntegerField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Pruned through #{self.last_removed_id} ({self.removed_count} entries)"


class LogPolicy(models.Model):
    """The agency's access-log retention (one row per schema; absent = the setting's default)."""

    retention_days = models.PositiveIntegerField(
        validators=[MinValueValidator(MIN_LOG_RETENTION_DAYS)],
        help_text="Access-log entries older than this many days are removed (at least 365).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "access-log retention"
        verbose_name_plural = "access-log retention"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(retention_days__gte=MIN_LOG_RETENTION_DAYS),
                name="logpolicy_retention_at_least_one_year",
            )
        ]

    def __str__(self) -> str:
        return f"Keep the access log {self.retention_days} days"


class FlagKind(models.TextChoices):
    NO_CASE_NUMBER = "no_case_number", "No case number"
    VAGUE_PURPOSE = "vague_purpose", "Vague purpose"
    UNUSUAL_HOURS = "unusual_hours", "Outside usual hours"
    HIGH_VOLUME = "high_volume", "Unusual volume"
    SHARED_PLATE = "shared_plate", "Plate searched by many users"
    TRAINING_LAPSED = "training_lapsed", "Training lapsed"
    REFUSED = "refused", "Refused search"
    DIRECT_VIEW = "direct_view", "Viewed without a purpose"
    REVIEW_VOLUME = "review_volume", "Unusual review volume"
    AGENCY_VOLUME = "agency_volume", "Unusual volume from another agency"
    GRANT_NOT_ALLOWED = "grant_not_allowed", "Sharing the law no longer allows"


class Flag(models.Model):
    """A search an auditor should look at, and why. Reviewing one is logged."""

    event = models.ForeignKey(AccessEvent, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(max_length=32, choices=FlagKind.choices)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Copied from the event so the flag list needs no join for filtering.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    event_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by_id = models.BigIntegerField(null=True, blank=True)
    reviewed_by_username = models.CharField(max_length=150, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-event_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="flag_one_per_event_kind")
        ]
        indexes = [models.Index(fields=["reviewed_at", "-event"], name="flag_open_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on event #{self.event_id}"

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None


class FlagScanState(models.Model):
    """How far the flag scanner got (one row per schema)."""

    last_event_id = models.BigIntegerField(default=0)
    scanned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Flags scanned through event #{self.last_event_id}"


class AuditReport(models.Model):
    """A periodic summary of the access log for auditors, stored as generated."""

    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    chain_ok = models.BooleanField()
    summary = models.JSONField(default=dict)
    body = models.TextField(help_text="The report as Markdown.")

    class Meta:
        ordering = ["-period_end", "-id"]

    def __str__(self) -> str:
        return f"Audit report {self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}"
