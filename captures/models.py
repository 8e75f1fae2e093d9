"""Cameras, captures and what was read from them, in the agency's schema."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

LATITUDE_VALIDATORS = [MinValueValidator(-90), MaxValueValidator(90)]
LONGITUDE_VALIDATORS = [MinValueValidator(-180), MaxValueValidator(180)]


class Camera(models.Model):
    """A fixed camera of the agency. Its API key is shown once and stored only as a hash."""

    name = models.CharField(max_length=120, unique=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LATITUDE_VALIDATORS)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LONGITUDE_VALIDATORS)
    direction = models.CharField(
        max_length=40, blank=True, help_text="e.g. northbound, or N/NE/E/..."
    )
    active = models.BooleanField(default=True)
    key_prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    key_rotated_at = models.DateTimeField(default=timezone.now, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DataKey(models.Model):
    """The agency's AES-256 key for the images of one UTC day, wrapped by the master key.

    Destroying it (wrapped_key emptied, destroyed_at set) makes that day's image bytes
    unreadable everywhere, backups included.
    """

    day = models.DateField(unique=True)
    wrapped_key = models.BinaryField(null=True, editable=False)
    master_key_id = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"Image key for {self.day:%Y-%m-%d}"


class Capture(models.Model):
    """One plate capture: the images, where and when, and the reading of it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be read"
        READ = "read", "Read"
        UNREAD = "unread", "No readable plate"
        FAILED = "failed", "Reading failed"

    class Review(models.TextChoices):
        UNCONFIRMED = "unconfirmed", "Unconfirmed"
        CONFIRMED = "confirmed", "Confirmed"
        CORRECTED = "corrected", "Corrected"
        UNREADABLE = "unreadable", "Marked unreadable"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="captures")
    client_capture_id = models.UUIDField(
        null=True, blank=True, help_text="Id chosen by the camera, for retries."
    )
    captured_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LATITUDE_VALIDATORS)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LONGITUDE_VALIDATORS)
    # Server-chosen storage names of the encrypted images (never the client's file names).
    plate_image = models.CharField(max_length=200)
    vehicle_image = models.CharField(max_length=200, blank=True)
    key_day = models.DateField(help_text="Which day's data key encrypts the images.")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # What the camera itself read, kept beside ours and never overwritten.
    edge_plate = models.CharField(max_length=16, blank=True)
    edge_state = models.CharField(max_length=2, blank=True)
    edge_confidence = models.FloatField(null=True, blank=True)
    # What our recognizer read (kept when a person corrects it).
    machine_plate = models.CharField(max_length=16, blank=True)
    machine_state = models.CharField(max_length=2, blank=True)
    machine_confidence = models.FloatField(null=True, blank=True)
    machine_state_confidence = models.FloatField(null=True, blank=True)
    plate_box = models.JSONField(
        null=True, blank=True, help_text="[x, y, w, h] in the vehicle image."
    )
    ocr_model = models.CharField(max_length=40, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The reading in force: the machine's, or a person's correction.
    plate = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=2, blank=True)
    match_key = models.CharField(
        max_length=16, blank=True, help_text="Plate with confusable characters folded."
    )
    review_status = models.CharField(
        max_length=16, choices=Review.choices, default=Review.UNCONFIRMED
    )
    reviewed_by_id = models.BigIntegerField(null=True, blank=True)
    reviewed_by_username = models.CharField(max_length=150, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-captured_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["camera", "client_capture_id"],
                condition=models.Q(client_capture_id__isnull=False),
                name="capture_unique_client_id_per_camera",
            ),
        ]
        indexes = [
            models.Index(fields=["captured_at"], name="capture_captured_at"),
            models.Index(fields=["plate", "captured_at"], name="capture_plate_time"),
            models.Index(fields=["match_key", "captured_at"], name="capture_matchkey_time"),
            models.Index(fields=["state", "captured_at"], name="capture_state_time"),
            models.Index(fields=["camera", "captured_at"], name="capture_camera_time"),
            models.Index(
                fields=["review_status", "machine_confidence"], name="capture_review_queue"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plate or '(unread)'} at {self.captured_at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_confirmed(self) -> bool:
        return self.review_status in {self.Review.CONFIRMED, self.Review.CORRECTED}

    @property
    def is_reviewed(self) -> bool:
        """A person decided on this read: changing it now takes an explicit re-review."""
        return self.review_status != self.Review.UNCONFIRMED


class Review(models.Model):
    """A person's decision on a read: confirm, correct or mark unreadable."""

    class Action(models.TextChoices):
        CONFIRM = "confirm", "Confirmed"
        CORRECT = "correct", "Corrected"
        UNREADABLE = "unreadable", "Marked unreadable"

    capture = models.ForeignKey(Capture, on_delete=models.CASCADE, related_name="reviews")
    action = models.CharField(max_length=16, choices=Action.choices)
    reviewer_id = models.BigIntegerField()
    reviewer_username = models.CharField(max_length=150)
    plate_before = models.CharField(max_length=16, blank=True)
    state_before = models.CharField(max_length=2, blank=True)
    plate_after = models.CharField(max_length=16, blank=True)
    state_after = models.CharField(max_length=2, blank=True)
    reviewed_at = models.DateTimeField(default=timezone.now)
    # A re-review names the decision it overrules and says why; a first review has neither.
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-reviewed_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.reviewer_username}"


class AuthorizedPurpose(models.Model):
    """One entry of the agency's list of purposes plate data may be used for."""

    class Use(models.TextChoices):
        SEARCH = "search", "Plate searches"
        REVIEW = "review", "Review sessions"
        BOTH = "both", "Plate searches and review sessions"

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    requires_detail = models.BooleanField(
        default=False,
        help_text="The searcher must also describe the purpose in words (e.g. for 'Other').",
    )
    active = models.BooleanField(default=True, help_text="Offered on the forms of its use.")
    use = models.CharField(
        max_length=8,
        choices=Use.choices,
        default=Use.SEARCH,
        help_text="Where it is offered. A purpose offered only for review sessions needs no "
        "case number (it concerns the reader, not a case); every other purpose does when the "
        "agency requires case numbers.",
    )
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class ProhibitedTerm(models.Model):
    """A purpose or word a search may not be run for (e.g. where local law forbids it)."""

    term = models.CharField(
        max_length=100,
        unique=True,
        help_text="Searches whose purpose or case number contains this word or phrase are refused.",
    )
    reason = models.CharField(
        max_length=300, blank=True, help_text="Shown to the searcher, e.g. the law that forbids it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return self.term


class CameraAuthFailure(models.Model):
    """Refused camera-key attempts: one row per hour, address, key prefix and reason.

    ``attempts`` is counted up in place, so a flood of bad keys adds no rows, only counts.
    Written by ``captures.ingest.limits``; Administrators read it as "failed camera sign-ins".
    """

    class Reason(models.TextChoices):
        MISSING = "missing_key", "No key sent"
        MALFORMED = "malformed_key", "Malformed key"
        OTHER_AGENCY = "other_agency", "Key of another agency"
        UNKNOWN = "unknown_key", "Unknown or rotated key"
        DEACTIVATED = "deactivated", "Camera deactivated"

    window_start = models.DateTimeField(help_text="The hour (UTC) these attempts fell in.")
    client_ip = models.CharField(max_length=45, blank=True)
    key_prefix = models.CharField(
        max_length=16, blank=True, help_text="As sent; empty when no well-formed key was sent."
    )
    camera = models.ForeignKey(
        Camera, null=True, blank=True, on_delete=models.SET_NULL, related_name="auth_failures"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    attempts = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        ordering = ["-window_start", "-attempts"]
        verbose_name = "failed camera sign-in"
        constraints = [
            models.UniqueConstraint(
                fields=["window_start", "client_ip", "key_prefix", "reason"],
                name="camera_auth_failure_one_per_window",
            )
        ]

    def __str__(self) -> str:
        return f"{self.attempts} × {self.get_reason_display()} from {self.client_ip or '?'}"
