"""Whether a user's training allows access to plate data (policy: initial, then yearly)."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from tenants.people.models import TrainingRecord

TRAINING_VALID_DAYS = 365


def training_due_date(user: User) -> datetime.date | None:
    """The day the user's training lapses, or None without a completed initial training."""
    records = TrainingRecord.objects.filter(user=user)
    if not records.filter(kind=TrainingRecord.Kind.INITIAL).exists():
        return None
    latest = records.order_by("-completed_on").values_list("completed_on", flat=True).first()
    if latest is None:  # deleted since the check above
        return None
    return latest + datetime.timedelta(days=TRAINING_VALID_DAYS)


def training_is_current(user: User, *, today: datetime.date | None = None) -> bool:
    due = training_due_date(user)
    if due is None:
        return False
    today = today or timezone.localdate()
    return today <= due
