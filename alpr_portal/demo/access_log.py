"""Demo step 4, access-log history: a month of sign-ins and searches, some of them worth a flag.

Purposes are the agency's own (the names its search form offers), so charts and the
transparency page count each once; the entries carry no marker of their own (an auditor sees
what a real log holds): the search by ``former-officer`` tells a rerun the log is seeded.
"""

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
from captures.models import AuthorizedPurpose
from tenants.models import Agency
from tenants.people.models import TrainingRecord

# What officers wrote for each of the agency's default purposes (matched by name; a purpose
# the agency added gets a generic description).
PURPOSE_TEXTS = {
    "Stolen vehicle": "Stolen vehicle reported by the owner",
    "Wanted person or warrant": "Vehicle of a subject with an outstanding felony warrant",
    "Missing or endangered person": "AMBER alert vehicle description from dispatch",
    "Criminal investigation": "Burglary series follow-up, vehicle seen near scenes",
    "Hit and run / traffic collision": "Vehicle that left a collision on Main St",
}
SEEDED_BY = "former-officer"  # the seed's own search; its presence means "already seeded"
PLATES = ["7ABC123", "8XYZ552", "6KLM901", "5TRK330", "4FJD812", "7QWE456", "8JHG210"]


def seed(*, agency: Agency, stdout: TextIOBase) -> None:
    with schema_context(agency.schema_name):
        seeded = AccessEvent.objects.filter(action=Action.SEARCH, actor_username=SEEDED_BY)
        if seeded.exists() or AccessEvent.objects.filter(details__has_key="demo_seed").exists():
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
        purposes = _purposes()

        def event(at, **kwargs):
            nonlocal count
            details = dict(kwargs.pop("details", {}) or {})
            count += 1
            return record_backdated_event(occurred_at=at, details=details, **kwargs)

        def search(at, actor, *, username=None, plate=None, purpose=None, case=True, **kw):
            category, text = purpose or rng.choice(purposes)
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
               purpose=("", "check"))  # fmt: skip
        noon = datetime.datetime.combine(yesterday, datetime.time(12, 5), tzinfo=tz)
        search(noon, officer, username="officer", plate="9SHR777")
        search(noon + datetime.timedelta(minutes=20), admin, username="admin", plate="9SHR777")
        search(noon + datetime.timedelta(minutes=40), None, username=SEEDED_BY,
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


def _purposes() -> list[tuple[str, str]]:
    """(name, what the officer wrote) for the agency's search purposes that need no detail."""
    rows = AuthorizedPurpose.objects.filter(active=True, requires_detail=False).exclude(
        use=AuthorizedPurpose.Use.REVIEW
    )
    chosen = [
        (p.name, PURPOSE_TEXTS.get(p.name, f"{p.name}: follow-up on a reported vehicle"))
        for p in rows.order_by("sort_order", "name")
    ]
    return chosen or [("Criminal investigation", PURPOSE_TEXTS["Criminal investigation"])]


def _ensure_training(users) -> None:
    """Demo users search within current training (unless another step recorded some)."""
    for user in users:
        if not TrainingRecord.objects.filter(user=user).exists():
            TrainingRecord.objects.create(
                user=user,
                kind=TrainingRecord.Kind.INITIAL,
                completed_on=timezone.localdate() - datetime.timedelta(days=200),
                trainer="Training Unit, Sgt. R. Alvarez",
                notes="Initial ALPR use and privacy course.",
            )
