"""People of an agency beyond Django's user: training records."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TrainingRecord(models.Model):
    class Kind(models.TextChoices):
        INITIAL = "initial", "Initial training"
        REFRESHER = "refresher", "Annual refresher"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_records"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    completed_on = models.DateField()
    trainer = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-completed_on", "-id"]
        indexes = [models.Index(fields=["user", "-completed_on"], name="training_user_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.completed_on:%Y-%m-%d} ({self.trainer})"
