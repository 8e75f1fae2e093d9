"""Reads about people: training status of the agency's users."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from tenants.people.models import EncryptedTOTPDevice, LoginLock, TrainingRecord
from tenants.people.training import TRAINING_VALID_DAYS

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

DUE_SOON_DAYS = 30


class TrainingAnnotations(TypedDict):
    latest_training: datetime.date | None
    has_initial: bool


@dataclass(frozen=True)
class TrainingStatus:
    user: User
    due_on: datetime.date | None  # None: no initial training on record
    state: str  # "missing", "lapsed", "due_soon", "current"

    @property
    def label(self) -> str:
        return {
            "missing": "No initial training on record",
            "lapsed": "Training lapsed",
            "due_soon": "Refresher due soon",
            "current": "Current",
        }[self.state]


def users_with_training() -> QuerySet[WithAnnotations[User, TrainingAnnotations]]:
    """Active users annotated with their latest training day and whether an initial exists."""
    initial = TrainingRecord.objects.filter(user=OuterRef("pk"), kind=TrainingRecord.Kind.INITIAL)
    return (
        get_user_model()
        .objects.annotate(
            latest_training=Max("training_records__completed_on"),
            has_initial=Exists(initial),
        )
        .order_by("username")
    )


def training_state(
    *, latest: datetime.date | None, has_initial: bool, today: datetime.date
) -> tuple[datetime.date | None, str]:
    if not has_initial or latest is None:
        return None, "missing"
    due = latest + datetime.timedelta(days=TRAINING_VALID_DAYS)
    if due < today:
        return due, "lapsed"
    if due <= today + datetime.timedelta(days=DUE_SOON_DAYS):
        return due, "due_soon"
    return due, "current"


def training_due_list(*, today: datetime.date | None = None) -> list[TrainingStatus]:
    """Active users without current training or whose refresher is due within 30 days."""
    today = today or timezone.localdate()
    rows = []
    for user in users_with_training().filter(is_active=True):
        due, state = training_state(
            latest=user.latest_training, has_initial=user.has_initial, today=today
        )
        if state != "current":
            rows.append(TrainingStatus(user=user, due_on=due, state=state))
    order = {"lapsed": 0, "missing": 1, "due_soon": 2}
    rows.sort(key=lambda r: (order[r.state], r.due_on or today, r.user.username))
    return rows


def second_factor_enrolled(user: User) -> bool:
    enrolled: bool = EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return enrolled


def locked_usernames() -> set[str]:
    return set(LoginLock.objects.filter(locked_at__isnull=False).values_list("username", flat=True))
