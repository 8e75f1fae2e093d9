"""Flags that point auditors at uses of plate data worth a look, each with a plain reason.

Search events are written by the search helper as ``record_event(action=Action.SEARCH,
outcome=ALLOWED|REFUSED, reason=..., purpose_category=..., purpose_text=..., case_number=...,
query={"plate": ..., "state": ..., ...}, details={"result_count": N})``; review sessions
(``review_session``) carry a purpose the same way; capture and image views
(``capture_viewed``, ``image_viewed``) name the search or review session that led to them in
``related_event_id`` and say where they came from in ``details.source``. The scanner reads new
entries of these kinds (incrementally, from a watermark) and adds flags; it never edits the log.
"""

from __future__ import annotations

import datetime
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessEvent, Action, Flag, FlagKind, FlagScanState, Outcome
from audit.services import record_event
from tenants.models import Agency


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# Purpose categories that say nothing on their own: the free text must carry the purpose.
VAGUE_CATEGORIES = frozenset({"", "other", "free text", "free-text", "misc", "miscellaneous"})
VAGUE_WORDS = frozenset(
    {
        "investigation", "investigate", "check", "checking", "test", "testing", "n/a", "na",
        "none", "lookup", "look up", "search", "query", "curious", "info", "information",
        "follow up", "followup", "routine", "work", "case", "police business", "misc", "other",
    }
)  # fmt: skip
MIN_PURPOSE_WORDS = 3
HOURS_HISTORY_DAYS = 60
HOURS_MIN_HISTORY = 20
VOLUME_HISTORY_DAYS = 30
VOLUME_FACTOR = 3.0
VOLUME_MIN = 20
SHARED_PLATE_DAYS = 7
SHARED_PLATE_USERS = 3
# An image fetched without a purpose is flagged unless the same user's capture page of that
# read (itself flagged when it had no purpose) came within this many minutes before it.
DIRECT_IMAGE_GRACE_MINUTES = 60
# Review sessions: items viewed in one session against the usual per session, over the
# previous REVIEW_VOLUME_HISTORY_DAYS. The user's own average counts when they have at least
# REVIEW_VOLUME_MIN_SESSIONS earlier sessions, else the agency's; the limit is
# REVIEW_VOLUME_FACTOR times that average, and never under REVIEW_VOLUME_MIN (working
# through the queue with the keyboard, a few hundred reads in a session is ordinary work).
REVIEW_VOLUME_HISTORY_DAYS = 30
REVIEW_VOLUME_FACTOR = 3.0
REVIEW_VOLUME_MIN = 200
REVIEW_VOLUME_MIN_SESSIONS = 5
SCANNED_ACTIONS = (
    Action.SEARCH,
    Action.REVIEW_SESSION,
    Action.CAPTURE_VIEWED,
    Action.IMAGE_VIEWED,
    Action.EXTERNAL_SEARCH,
)
# Searches of our data by another agency (sharing): a day with more than this many, and more
# than VOLUME_FACTOR times that agency's daily average of the previous VOLUME_HISTORY_DAYS.
AGENCY_VOLUME_MIN = 20
# The first scan of a schema starts this far back, not at the beginning of a long log.
FIRST_SCAN_DAYS = 35


@dataclass(frozen=True)
class FlagFinding:
    kind: FlagKind
    reason: str
    # The entry the flag is put on, when not the one being scanned (a review session whose
    # volume one of its views pushed over the limit).
    event: AccessEvent | None = None


def purpose_vagueness(category: str, text: str) -> str | None:
    """Why a stated purpose is too vague to audit, or None when it is specific enough."""
    words = re.findall(r"[\w/-]+", text.lower())
    normalized = " ".join(words)
    if category.strip().lower() in VAGUE_CATEGORIES:
        if not words:
            return "No purpose category and no purpose text."
        if normalized in VAGUE_WORDS or len(words) < MIN_PURPOSE_WORDS:
            return f"Free-text-only purpose that says little: “{text.strip()}”."
        return f"Free-text-only purpose (no category chosen): “{text.strip()[:120]}”."
    if words and (normalized in VAGUE_WORDS):
        return f"Purpose text says nothing specific: “{text.strip()}”."
    return None


class _Context:
    """Per-scan caches of the figures the rules compare against."""

    def __init__(self, agency: Agency):
        self.agency = agency
        self.tz = agency.tz
        self.users: dict[int, Any] = {}
        self.hours: dict[tuple[int, datetime.date], Counter | None] = {}
        self.own_norm: dict[tuple[int, datetime.date], float | None] = {}
        self.agency_norm: dict[datetime.date, float | None] = {}
        self.sessions: dict[int, AccessEvent | None] = {}
        self.session_views: dict[int, int] = {}
        self.review_norms: dict[tuple[int | None, datetime.date], float | None] = {}

    def local(self, when: datetime.datetime) -> datetime.datetime:
        return when.astimezone(self.tz)

    def day_bounds(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
        start = datetime.datetime.combine(day, datetime.time.min, tzinfo=self.tz)
        return start, start + datetime.timedelta(days=1)

    def user(self, user_id: int):
        if user_id not in self.users:
            self.users[user_id] = get_user_model().objects.filter(id=user_id).first()
        return self.users[user_id]

    def usual_hours(self, user_id: int, day: datetime.date) -> Counter | None:
        key = (user_id, day)
        if key not in self.hours:
            start, _ = self.day_bounds(day)
            stamps = AccessEvent.objects.filter(
                action=Action.SEARCH,
                actor_id=user_id,
                occurred_at__gte=start - datetime.timedelta(days=HOURS_HISTORY_DAYS),
                occurred_at__lt=start,
            ).values_list("occurred_at", flat=True)
            hours = Counter(self.local(s).hour for s in stamps)
            self.hours[key] = hours if sum(hours.values()) >= HOURS_MIN_HISTORY else None
        return self.hours[key]

    def _daily_counts(self, day: datetime.date, **filters: Any) -> list[int]:
        start, _ = self.day_bounds(day)
        rows = (
            AccessEvent.objects.filter(
                action=Action.SEARCH,
                occurred_at__gte=start - datetime.timedelta(days=VOLUME_HISTORY_DAYS),
                occurred_at__lt=start,
                **filters,
            )
            .annotate(day=TruncDate("occurred_at", tzinfo=self.tz))
            .values("actor_id", "day")
            .annotate(n=Count("id"))
            .values_list("n", flat=True)
        )
        return list(rows)

    def own_daily_norm(self, user_id: int, day: datetime.date) -> float | None:
        key = (user_id, day)
        if key not in self.own_norm:
            counts = self._daily_counts(day, actor_id=user_id)
            self.own_norm[key] = statistics.fmean(counts) if len(counts) >= 5 else None
        return self.own_norm[key]

    def agency_daily_norm(self, day: datetime.date) -> float | None:
        if day not in self.agency_norm:
            counts = self._daily_counts(day, actor_id__isnull=False)
            self.agency_norm[day] = statistics.fmean(counts) if len(counts) >= 5 else None
        return self.agency_norm[day]

    def review_session(self, event_id: int) -> AccessEvent | None:
        if event_id not in self.sessions:
            self.sessions[event_id] = AccessEvent.objects.filter(
                id=event_id, action=Action.REVIEW_SESSION
            ).first()
        return self.sessions[event_id]

    def views_in_session(self, session: AccessEvent, event: AccessEvent) -> int:
        """How many items the session had shown up to and including ``event``."""
        if session.id not in self.session_views:
            # Views come after their session starts: the time bound keeps the count cheap.
            self.session_views[session.id] = AccessEvent.objects.filter(
                action=Action.CAPTURE_VIEWED,
                related_event_id=session.id,
                occurred_at__gte=session.occurred_at,
                id__lt=event.id,
            ).count()
        self.session_views[session.id] += 1
        return self.session_views[session.id]

    def review_norm(self, user_id: int | None, before: datetime.datetime) -> float | None:
        """Average items viewed per review session (the user's, or the agency's for None)."""
        key = (user_id, self.local(before).date())
        if key not in self.review_norms:
            start, _ = self.day_bounds(key[1])
            sessions = AccessEvent.objects.filter(
                action=Action.REVIEW_SESSION,
                outcome=Outcome.ALLOWED,
                occurred_at__gte=start - datetime.timedelta(days=REVIEW_VOLUME_HISTORY_DAYS),
                occurred_at__lt=start,
            )
            if user_id is not None:
                sessions = sessions.filter(actor_id=user_id)
            counts = list(
                AccessEvent.objects.filter(
                    action=Action.CAPTURE_VIEWED,
                    related_event_id__in=sessions.values("id"),
                    occurred_at__gte=start - datetime.timedelta(days=REVIEW_VOLUME_HISTORY_DAYS),
                )
                .values("related_event_id")
                .annotate(n=Count("id"))
                .values_list("n", flat=True)
            )
            enough = len(counts) >= REVIEW_VOLUME_MIN_SESSIONS
            self.review_norms[key] = statistics.fmean(counts) if enough else None
        return self.review_norms[key]


def _plate(event: AccessEvent) -> str:
    query = event.query if isinstance(event.query, dict) else {}
    plate = query.get("plate")
    return str(plate).strip() if plate else ""


def findings_for(event: AccessEvent, ctx: _Context) -> list[FlagFinding]:
    """Every rule that fires for one scanned entry."""
    if event.action == Action.SEARCH:
        return _search_findings(event, ctx)
    if event.action == Action.REVIEW_SESSION:
        return _review_session_findings(event, ctx)
    if event.action in (Action.CAPTURE_VIEWED, Action.IMAGE_VIEWED):
        return _view_findings(event, ctx)
    if event.action == Action.EXTERNAL_SEARCH:
        return _external_search_findings(event, ctx)
    return []


def _external_search_findings(event: AccessEvent, ctx: _Context) -> list[FlagFinding]:
    """A search of our data by another agency: refused, or of unusual volume from that agency."""
    found: list[FlagFinding] = []
    if event.outcome != Outcome.ALLOWED:
        found.append(
            FlagFinding(
                FlagKind.REFUSED,
                f"Search by {event.actor_username} refused: {event.reason or 'no reason recorded'}",
            )
        )
    volume = _agency_volume_finding(event, ctx)
    if volume is not None:
        found.append(volume)
    return found


def _agency_volume_finding(event: AccessEvent, ctx: _Context) -> FlagFinding | None:
    details = event.details if isinstance(event.details, dict) else {}
    searcher = details.get("searcher_agency")
    if not searcher:
        return None
    day = ctx.local(event.occurred_at).date()
    start, end = ctx.day_bounds(day)
    theirs = AccessEvent.objects.filter(
        action=Action.EXTERNAL_SEARCH, details__contains={"searcher_agency": searcher}
    )
    rank = theirs.filter(occurred_at__gte=start, occurred_at__lt=end, id__lte=event.id).count()
    if rank <= AGENCY_VOLUME_MIN:
        return None
    history = theirs.filter(
        occurred_at__gte=start - datetime.timedelta(days=VOLUME_HISTORY_DAYS), occurred_at__lt=start
    ).count()
    norm = history / VOLUME_HISTORY_DAYS
    limit = max(AGENCY_VOLUME_MIN, math.ceil(VOLUME_FACTOR * norm))
    if rank != limit + 1:  # the one search that crossed the line
        return None
    return FlagFinding(
        FlagKind.AGENCY_VOLUME,
        f"Agency {searcher} made more than {limit} searches of our data on {day:%Y-%m-%d}, over "
        f"{VOLUME_FACTOR:g}× its daily average of {norm:.1f} (previous {VOLUME_HISTORY_DAYS} days).",
    )


def _search_findings(event: AccessEvent, ctx: _Context) -> list[FlagFinding]:
    found: list[FlagFinding] = []
    if event.outcome != Outcome.ALLOWED:
        why = event.reason or "no reason recorded"
        found.append(FlagFinding(FlagKind.REFUSED, f"The search was refused: {why}"))
    elif not event.case_number.strip():
        found.append(FlagFinding(FlagKind.NO_CASE_NUMBER, "The search names no case number."))
    vague = purpose_vagueness(event.purpose_category, event.purpose_text)
    if vague:
        found.append(FlagFinding(FlagKind.VAGUE_PURPOSE, vague))
    plate = _plate(event)
    if plate and event.outcome == Outcome.ALLOWED and event.actor_username:
        finding = _shared_plate_finding(event, plate)
        if finding:
            found.append(finding)
    if event.actor_id is None:
        return found
    local = ctx.local(event.occurred_at)
    day = local.date()

    hours = ctx.usual_hours(event.actor_id, day)
    if hours is not None:
        near = sum(hours[(local.hour + d) % 24] for d in (-1, 0, 1))
        if near == 0:
            usual = ", ".join(f"{h:02d}:00" for h, _ in hours.most_common(3))
            found.append(
                FlagFinding(
                    FlagKind.UNUSUAL_HOURS,
                    f"Searched at {local:%H:%M} ({ctx.agency.timezone}); none of their "
                    f"{sum(hours.values())} searches in the previous {HOURS_HISTORY_DAYS} days "
                    f"was within an hour of that time (most often around {usual}).",
                )
            )

    finding = _volume_finding(event, ctx, day)
    if finding:
        found.append(finding)
    found.extend(_training_findings(event, ctx, day))
    return found


def _training_findings(event: AccessEvent, ctx: _Context, day: datetime.date) -> list[FlagFinding]:
    user = ctx.user(event.actor_id) if event.actor_id is not None else None
    if user is None or event.outcome != Outcome.ALLOWED:
        return []
    from tenants.people.training import training_is_current

    if training_is_current(user, today=day):
        return []
    return [
        FlagFinding(
            FlagKind.TRAINING_LAPSED,
            f"{event.actor_username}'s training was not current on {day:%Y-%m-%d}.",
        )
    ]


def _review_session_findings(event: AccessEvent, ctx: _Context) -> list[FlagFinding]:
    """A review session states a purpose like a search: refused or vague ones are flagged."""
    found: list[FlagFinding] = []
    if event.outcome != Outcome.ALLOWED:
        why = event.reason or "no reason recorded"
        found.append(FlagFinding(FlagKind.REFUSED, f"The review session was refused: {why}"))
        return found
    vague = purpose_vagueness(event.purpose_category, event.purpose_text)
    if vague:
        found.append(FlagFinding(FlagKind.VAGUE_PURPOSE, vague))
    found.extend(_training_findings(event, ctx, ctx.local(event.occurred_at).date()))
    return found


def _capture_id(event: AccessEvent) -> str:
    for item in event.objects_touched if isinstance(event.objects_touched, list) else ():
        if isinstance(item, dict) and item.get("type") == "capture":
            return str(item.get("id", ""))
    return ""


def _view_findings(event: AccessEvent, ctx: _Context) -> list[FlagFinding]:
    details = event.details if isinstance(event.details, dict) else {}
    if event.related_event_id is not None:
        if event.action == Action.CAPTURE_VIEWED and details.get("source") == "review":
            finding = _review_volume_finding(event, ctx, session_id=event.related_event_id)
            return [finding] if finding else []
        return []
    if event.outcome != Outcome.ALLOWED:
        return []
    capture_id = _capture_id(event)
    if event.action == Action.CAPTURE_VIEWED:
        plate = f" (plate {details['plate']})" if details.get("plate") else ""
        return [
            FlagFinding(
                FlagKind.DIRECT_VIEW,
                f"{event.actor_username or 'Someone'} opened the capture page of read "
                f"{capture_id}{plate} without a search or review session: no purpose was "
                "stated for this view.",
            )
        ]
    # An image: part of a capture page (flagged on its own) or fetched on its own.
    page_before = AccessEvent.objects.filter(
        action=Action.CAPTURE_VIEWED,
        actor_id=event.actor_id,
        occurred_at__gte=event.occurred_at - datetime.timedelta(minutes=DIRECT_IMAGE_GRACE_MINUTES),
        id__lt=event.id,
        objects_touched__contains=[{"type": "capture", "id": capture_id}],
    )
    if capture_id and page_before.exists():
        return []
    image = f"the {details['image']} image" if details.get("image") else "an image"
    return [
        FlagFinding(
            FlagKind.DIRECT_VIEW,
            f"{event.actor_username or 'Someone'} fetched {image} of read {capture_id} without "
            "a search, a review session or its capture page: no purpose was stated for this "
            "view.",
        )
    ]


def _review_volume_finding(
    event: AccessEvent, ctx: _Context, *, session_id: int
) -> FlagFinding | None:
    session = ctx.review_session(session_id)
    if session is None:  # a review page opened from a search: the search rules cover it
        return None
    rank = ctx.views_in_session(session, event)
    if rank <= REVIEW_VOLUME_MIN:
        return None
    norm = ctx.review_norm(session.actor_id, session.occurred_at)
    whose = "their own"
    if norm is None:
        norm, whose = ctx.review_norm(None, session.occurred_at), "the agency's"
    if norm is None:
        limit, basis = REVIEW_VOLUME_MIN, f"the minimum of {REVIEW_VOLUME_MIN}"
    else:
        limit = max(REVIEW_VOLUME_MIN, math.ceil(REVIEW_VOLUME_FACTOR * norm))
        basis = (
            f"{REVIEW_VOLUME_FACTOR:g}× {whose} average of {norm:.1f} per session "
            f"(previous {REVIEW_VOLUME_HISTORY_DAYS} days), at least {REVIEW_VOLUME_MIN}"
        )
    # Flag the session once, when a view crosses the line.
    if rank != limit + 1:
        return None
    return FlagFinding(
        FlagKind.REVIEW_VOLUME,
        f"{session.actor_username} viewed more than {limit} reads in review session "
        f"#{session.id} ({basis}).",
        event=session,
    )


def _volume_finding(event: AccessEvent, ctx: _Context, day: datetime.date) -> FlagFinding | None:
    start, end = ctx.day_bounds(day)
    rank = AccessEvent.objects.filter(
        action=Action.SEARCH,
        actor_id=event.actor_id,
        occurred_at__gte=start,
        occurred_at__lt=end,
        id__lte=event.id,
    ).count()
    if rank <= VOLUME_MIN:
        return None
    thresholds = []
    own = ctx.own_daily_norm(event.actor_id, day) if event.actor_id is not None else None
    if own is not None:
        thresholds.append((max(VOLUME_MIN, math.ceil(VOLUME_FACTOR * own)), "their own", own))
    agency = ctx.agency_daily_norm(day)
    if agency is not None:
        thresholds.append(
            (max(VOLUME_MIN, math.ceil(VOLUME_FACTOR * agency)), "the agency's", agency)
        )
    if not thresholds:
        thresholds.append((VOLUME_MIN, "the minimum of", float(VOLUME_MIN) / VOLUME_FACTOR))
    limit, whose, norm = min(thresholds)
    # Flag the one search that crossed the line, not every search after it.
    if rank != limit + 1:
        return None
    return FlagFinding(
        FlagKind.HIGH_VOLUME,
        f"{event.actor_username} made more than {limit} searches on {day:%Y-%m-%d}, over "
        f"{VOLUME_FACTOR:g}× {whose} daily average of {norm:.1f} "
        f"(previous {VOLUME_HISTORY_DAYS} days).",
    )


def _shared_plate_finding(event: AccessEvent, plate: str) -> FlagFinding | None:
    window = AccessEvent.objects.filter(
        action=Action.SEARCH,
        outcome=Outcome.ALLOWED,
        query__contains={"plate": plate},
        occurred_at__gte=event.occurred_at - datetime.timedelta(days=SHARED_PLATE_DAYS),
        id__lte=event.id,
    )
    if window.filter(actor_username=event.actor_username, id__lt=event.id).exists():
        return None  # only a user's first search of the plate in the window counts
    users = sorted(set(window.exclude(actor_username="").values_list("actor_username", flat=True)))
    if len(users) < SHARED_PLATE_USERS:
        return None
    return FlagFinding(
        FlagKind.SHARED_PLATE,
        f"Plate {plate} was searched by {len(users)} different users within "
        f"{SHARED_PLATE_DAYS} days: {', '.join(users[:10])}.",
    )


def flags_scan(*, agency: Agency, batch: int = 2000) -> int:
    """Flag the entries recorded since the last scan; returns how many flags were added."""
    added = 0
    ctx = _Context(agency)
    while True:
        with transaction.atomic():
            state = FlagScanState.objects.select_for_update().filter(pk=1).first()
            if state is None:
                start = timezone.now() - datetime.timedelta(days=FIRST_SCAN_DAYS)
                older = (
                    AccessEvent.objects.filter(occurred_at__lt=start)
                    .order_by("-id")
                    .values_list("id", flat=True)
                    .first()
                )
                state, _ = FlagScanState.objects.get_or_create(
                    pk=1, defaults={"last_event_id": older or 0}
                )
            events = list(
                AccessEvent.objects.filter(
                    action__in=SCANNED_ACTIONS, id__gt=state.last_event_id
                ).order_by("id")[:batch]
            )
            if not events:
                state.scanned_at = timezone.now()
                state.save(update_fields=["scanned_at"])
                return added
            new_flags = [
                Flag(
                    event=target,
                    kind=finding.kind,
                    reason=finding.reason,
                    actor_id=target.actor_id,
                    actor_username=target.actor_username,
                    event_at=target.occurred_at,
                )
                for event in events
                for finding in findings_for(event, ctx)
                for target in [finding.event or event]
            ]
            Flag.objects.bulk_create(new_flags, ignore_conflicts=True)
            added += len(new_flags)
            state.last_event_id = events[-1].id
            state.scanned_at = timezone.now()
            state.save(update_fields=["last_event_id", "scanned_at"])


class FlagError(Exception):
    """A flag review that cannot be done; the message says why."""


def flag_review(*, flag_id: int, user: User, note: str, request: HttpRequest | None = None) -> Flag:
    """Mark a flag reviewed with the auditor's note, and log it."""
    note = note.strip()
    if not note:
        raise FlagError("Write a note saying what you checked and concluded.")
    with transaction.atomic():
        flag = Flag.objects.select_for_update().select_related("event").get(id=flag_id)
        if flag.reviewed_at is not None:
            raise FlagError(
                f"This flag was already reviewed by {flag.reviewed_by_username} on "
                f"{flag.reviewed_at:%Y-%m-%d}."
            )
        flag.reviewed_at = timezone.now()
        flag.reviewed_by_id = user.pk
        flag.reviewed_by_username = user.get_username()
        flag.review_note = note
        flag.save(
            update_fields=["reviewed_at", "reviewed_by_id", "reviewed_by_username", "review_note"]
        )
        record_event(
            action=Action.FLAG_REVIEWED,
            request=request,
            actor=user,
            reason=note,
            objects=[("flag", flag.id), ("access_event", flag.event_id)],
            related_event_id=flag.event_id,
            details={"kind": flag.kind, "flag_reason": flag.reason},
        )
    return flag
