"""Legal holds, the captures each holds, and its renewals (in the agency's schema).

A held capture is named by its id, not by a foreign key: the hold's record (which captures,
under which case) outlives the captures once the hold ends and the purge deletes them, as the
access log's references do.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone


class LegalHold(models.Model):
    """Captures preserved past retention under legal process, until ``ends_at`` or release."""

    class Source(models.TextChoices):
        SEARCH = "search", "From a search result"
        CASE = "case", "By case number"
        COMMAND = "command", "From the legal_hold command"

    case_number = models.CharField(max_length=100)
    authority = models.CharField(
        max_length=300,
        blank=True,
        help_text="The legal authority, e.g. a subpoena or court order and its number.",
    )
    reason = models.TextField()
    ends_on = models.DateField(help_text="The last day (agency time) the hold is in force.")
    ends_at = models.DateTimeField(help_text="The instant the hold stops: the end of ends_on.")
    source = models.CharField(max_length=16, choices=Source.choices)
    source_event_id = models.BigIntegerField(
        null=True, blank=True, help_text="The search (access-log entry) the captures came from."
    )
    capture_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_username = models.CharField(max_length=150)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by_id = models.BigIntegerField(null=True, blank=True)
    released_by_username = models.CharField(max_length=150, blank=True)
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["released_at", "ends_at"], name="legalhold_in_force")]

    def __str__(self) -> str:
        return f"Legal hold {self.pk} (case {self.case_number})"

    def is_active(self, *, now: datetime.datetime | None = None) -> bool:
        return self.released_at is None and self.ends_at > (now or timezone.now())

    def state(self, *, now: datetime.datetime | None = None) -> str:
        if self.released_at is not None:
            return "released"
        return "active" if self.is_active(now=now) else "ended"


class HeldCapture(models.Model):
    hold = models.ForeignKey(LegalHold, on_delete=models.CASCADE, related_name="items")
    capture_id = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hold", "capture_id"], name="heldcapture_once_per_hold")
        ]
        indexes = [models.Index(fields=["capture_id"], name="heldcapture_capture")]

    def __str__(self) -> str:
        return f"Capture {self.capture_id} under hold {self.hold_id}"


class HoldRenewal(models.Model):
    """A renewal: a new end date, with its own reason."""

    hold = models.ForeignKey(LegalHold, on_delete=models.CASCADE, related_name="renewals")
    previous_ends_on = models.DateField()
    ends_on = models.DateField()
    reason = models.TextField()
    renewed_at = models.DateTimeField(default=timezone.now)
    renewed_by_id = models.BigIntegerField(null=True, blank=True)
    renewed_by_username = models.CharField(max_length=150)

    class Meta:
        ordering = ["renewed_at", "id"]

    def __str__(self) -> str:
        return f"Hold {self.hold_id} renewed to {self.ends_on:%Y-%m-%d}"
