"""Grants of read access from one agency to another (public schema: they join two agencies).

A grant names the owning agency (A, who offers) and the recipient (B, who accepts), the scope
(all of A's cameras or chosen ones, by id in A's schema), how far back B may search (within
A's retention), an end date (at most a year after the offer or renewal) and the terms B
accepted (A's policy as published when offered). Only an accepted, unrevoked, unexpired grant
is in force. Rows are never deleted: revoked and expired grants stay as the record.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone

from tenants.models import Agency

MAX_GRANT_DAYS = 366  # an end date at most one year ahead (a leap year's day included)


class Grant(models.Model):
    class Status(models.TextChoices):
        OFFERED = "offered", "Offered, not yet accepted"
        ACTIVE = "active", "In force"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Ended"

    owner = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="grants_offered")
    recipient = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="grants_received")
    all_cameras = models.BooleanField(default=True)
    camera_ids = models.JSONField(
        default=list, blank=True, help_text="Ids of the owner's cameras (when not all)."
    )
    days_back = models.PositiveSmallIntegerField(
        help_text="How many days back the recipient may search (never past the owner's retention)."
    )
    ends_on = models.DateField(help_text="Last day the grant is in force.")
    law_profile = models.CharField(max_length=20, help_text="The owner's profile when offered.")
    terms_text = models.TextField(help_text="The owner's policy as published when offered.")
    offered_at = models.DateTimeField(default=timezone.now)
    offered_by = models.CharField(max_length=150)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.CharField(max_length=150, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    renewals = models.PositiveSmallIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)
    revoke_reason = models.TextField(blank=True)
    # Set when a search found that the owner's law profile no longer allows the grant.
    flagged_at = models.DateTimeField(null=True, blank=True)
    flag_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-offered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(owner=models.F("recipient")), name="grant_two_agencies"
            ),
            models.CheckConstraint(
                condition=models.Q(days_back__gte=1, days_back__lte=30),
                name="grant_days_back_1_to_30",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "revoked_at"], name="grant_recipient_live"),
            models.Index(fields=["owner", "revoked_at"], name="grant_owner_live"),
        ]

    def __str__(self) -> str:
        return f"Grant #{self.pk}: {self.owner} → {self.recipient}"

    def status_on(self, today: datetime.date) -> Grant.Status:
        if self.revoked_at is not None:
            return Grant.Status.REVOKED
        if self.ends_on < today:
            return Grant.Status.EXPIRED
        if self.accepted_at is None:
            return Grant.Status.OFFERED
        return Grant.Status.ACTIVE

    @property
    def status(self) -> Grant.Status:
        """Today in the owner's time zone decides whether the last day has passed."""
        return self.status_on(timezone.now().astimezone(self.owner.tz).date())

    @property
    def in_force(self) -> bool:
        return self.status == Grant.Status.ACTIVE
