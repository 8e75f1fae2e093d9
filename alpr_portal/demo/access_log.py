"""Demo step 4, access-log history: a month of sign-ins and searches, some of them worth a flag."""

from __future__ import annotations

import datetime
import random
from io import TextIOBase

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.flags import flags_scan
from audit.models import AccessEvent, Action, Outcome
from audit.reports import report_create
from audit.services import record_backdated_event
from tenants.models import Agency
from tenants.people.models import TrainingRecord

PURPOSES = [
    ("stolen_vehicle", "Stolen vehicle reported by the owner", True),
    ("amber_alert", "AMBER alert vehicle description from dispatch", True),
    ("warrant", "Vehicle of a subject with an outstanding felony warrant", True),
    ("missing_person", "Vehicle of an at-risk missing person", True),
    ("investigation", "Burglary series follow-up, vehicle seen near scenes", True),
]
PLATES = ["7ABC123", "8XYZ552", "6KLM901", "5TRK330", "4FJD812", "7QWE456", "8JHG210"]


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    with schema_context(agency.schema_name):
        if AccessEvent.objects.filter(details__contains={"demo_seed": True}).exists():
            stdout.write("Demo access log: already seeded.")
            return
        users = {u.username: u for u in get_user_model().objects.all()}
        _ensure_training(users.values())
        officer = users.get("officer")
        admin = users.get("admin")
        rng = random.Random(7)  # the same demo every time
        tz = agency.tz
        today = timezone.now().astimezone(tz).date()
        count = 0

        def event(at, **kwargs):
            nonlocal count
            details = dict(kwargs.pop("details", {}) or {})
            details["demo_seed"] = True
            count += 1
            return record_backdated_event(occurred_at=at, details=details, **kwargs)

        def search(at, actor, *, username=None, plate=None, purpose=None, case=True, **kw):
            category, text, _ = purpose or rng.choice(PURPOSES)
            plate = plate or rng.choice(PLATES)
            return event(
                at,
                action=Action.SEARCH,
                actor=actor,
                username=username,
                purpose_category=category,
                purpose_text=text,
                case_number=f"26-{rng.randint(1000, 9999)}" if case else "",
                query={
                    "plate": plate,
                    "state": "CA",
                    "from": (at.date() - datetime.timedelta(days=7)).isoformat(),
                    "to": at.date().isoformat(),
                    "cameras": [],
                    "include_unconfirmed": False,
                    "similar": False,
                },
                **kw,
            )

        for back in range(30, 0, -1):
            day = today - datetime.timedelta(days=back)
            if day.weekday() >= 5:
                continue
            start = datetime.datetime.combine(day, datetime.time(8, rng.randint(0, 40)), tzinfo=tz)
            for person in (officer, admin):
                if person is not None:
                    event(start, action=Action.LOGIN, actor=person)
            for i in range(rng.randint(2, 6)):
                at = start + datetime.timedelta(hours=1 + i, minutes=rng.randint(0, 50))
                search(at, officer, username="officer" if officer is None else None)
            for person in (officer, admin):
                if person is not None:
                    event(start + datetime.timedelta(hours=9), action=Action.LOGOUT, actor=person)

        yesterday = today - datetime.timedelta(days=1)
        night = datetime.datetime.combine(yesterday, datetime.time(2, 47), tzinfo=tz)
        search(night, officer, username="officer", plate="3NGT404", case=False,
               purpose=("", "check", False))  # fmt: skip
        noon = datetime.datetime.combine(yesterday, datetime.time(12, 5), tzinfo=tz)
        search(noon, officer, username="officer", plate="9SHR777")
        search(noon + datetime.timedelta(minutes=20), admin, username="admin", plate="9SHR777")
        search(noon + datetime.timedelta(minutes=40), None, username="former-officer",
               plate="9SHR777")  # fmt: skip
        search(
            noon + datetime.timedelta(hours=1),
            officer,
            username="officer",
            outcome=Outcome.REFUSED,
            reason="No case number given; this agency requires one.",
            case=False,
        )
        event(
            noon + datetime.timedelta(hours=2),
            action=Action.LOGIN_FAILED,
            username="offcer",
            outcome=Outcome.FAILED,
            reason="Unknown username or wrong password.",
        )
        added = flags_scan(agency=agency)
        end = timezone.now()
        report_create(agency=agency, period_start=end - datetime.timedelta(days=7), period_end=end)
        stdout.write(f"Demo access log: {count} events, {added} flags, one weekly report.")


def _ensure_training(users) -> None:
    """Demo users search within current training (unless another step recorded some)."""
    for user in users:
        if not TrainingRecord.objects.filter(user=user).exists():
            TrainingRecord.objects.create(
                user=user,
                kind=TrainingRecord.Kind.INITIAL,
                completed_on=timezone.localdate() - datetime.timedelta(days=200),
                trainer="Demo training unit",
                notes="Recorded by the demo seed.",
            )
