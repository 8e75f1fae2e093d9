"""Support access: an agency's Administrator lets named platform staff work in the agency's host
for a while, within a scope. The grant lives in the agency's schema (the agency owns it); the
platform's schema holds nothing about it."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

MAX_GRANT_HOURS = 24


class Scope(models.TextChoices):
    SETTINGS = "settings", "Settings and cameras only"
    READ_ONLY = "read_only", "Read-only data"


class SupportGrant(models.Model):
    """Named platform staff may sign in here under ``scope`` from ``granted_at`` until
    ``expires_at`` (at most 24 hours later), unless revoked earlier.

    ``account`` is the agency-schema user the support sessions run as (made for this grant,
    no password): the roles and the entries of those sessions belong to the agency's schema.
    The staff member is named by their platform username and the id of their row in ``public``.
    """

    platform_user_id = models.BigIntegerField(
        help_text="Id of the staff member's user in the platform (public) schema."
    )
    platform_username = models.CharField(max_length=150)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    reason = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="support_grants_given"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # No reverse accessor on User: users exist in ``public`` too, where this table does not
    # (django-auditlog reads every relation of a user it records).
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_grants_revoked",
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = "support grant"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("granted_at"))
                & models.Q(
                    expires_at__lte=models.F("granted_at")
                    + datetime.timedelta(hours=MAX_GRANT_HOURS)
                ),
                name="supportgrant_at_most_24_hours",
            ),
            models.UniqueConstraint(fields=["account"], name="supportgrant_one_per_account"),
        ]
        indexes = [models.Index(fields=["platform_user_id", "-expires_at"], name="support_staff")]

    def __str__(self) -> str:
        return f"Support grant #{self.pk} for {self.platform_username} ({self.get_scope_display()})"

    def is_active(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.granted_at <= now < self.expires_at

    def status(self, now: datetime.datetime | None = None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return "active"
