"""Demo step 1, training records: the officer and administrator are current; the auditor's refresher is
due within 30 days, so the administrator's "training due" list has someone on it."""

from __future__ import annotations

import datetime
from io import TextIOBase

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Agency
from tenants.people import services
from tenants.people.models import TrainingRecord

DEMO_TRAINING = {"admin": 60, "officer": 20, "auditor": 350}  # days since the initial training


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    today = timezone.localdate()
    with schema_context(agency.schema_name):
        for username, days_ago in DEMO_TRAINING.items():
            user = get_user_model().objects.filter(username=username).first()
            if user is None or TrainingRecord.objects.filter(user=user).exists():
                continue
            services.training_record_add(
                user=user,
                kind=TrainingRecord.Kind.INITIAL,
                completed_on=today - datetime.timedelta(days=days_ago),
                trainer="Training Unit, Sgt. R. Alvarez",
                notes="Initial ALPR use and privacy course.",
            )
    stdout.write("Training recorded for the demo users (the auditor's refresher is due soon).")
