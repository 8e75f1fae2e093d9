"""What the home page asks of each role: the work waiting (reads to review, open flags, users
due for training), one line each, with where to do it.

Each source is a function of (request, agency) that returns a ``HomeTask`` or ``None`` and is
listed in ``TASK_SOURCES`` with the roles it is for. Counts only: no plate reaches this page.
Hotlist alerts (issue 13) join as one more source here, for officers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from audit.models import Flag
from captures.review.selectors import review_queue
from tenants.models import Agency
from tenants.people.roles import Role, user_roles
from tenants.people.selectors import training_due_list
from tenants.people.training import training_is_current


@dataclass(frozen=True)
class HomeTask:
    key: str  # stable name, for tests and styling
    count: int
    label: str  # what is waiting, in words, e.g. "reads waiting for review"
    url: str
    action: str  # the link's text


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def reads_to_review(request: HttpRequest, agency: Agency) -> HomeTask | None:
    user = request.user
    if not user.is_authenticated or not training_is_current(user):
        return None  # the page says why elsewhere; the queue would refuse them
    count = review_queue(agency=agency).count()
    label = "read waiting for review" if count == 1 else "reads waiting for review"
    return HomeTask("review", count, label, _url("captures:review"), "Open the review queue")


def open_flags(request: HttpRequest, agency: Agency) -> HomeTask | None:
    count = Flag.objects.filter(reviewed_at__isnull=True).count()
    label = "open audit flag" if count == 1 else "open audit flags"
    return HomeTask("flags", count, label, _url("audit:flags"), "Review the flags")


def training_due(request: HttpRequest, agency: Agency) -> HomeTask | None:
    count = len(training_due_list())
    label = "user due for training" if count == 1 else "users due for training"
    return HomeTask("training", count, label, _url("training-due"), "See who is due")


TaskSource = Callable[[HttpRequest, Agency], HomeTask | None]
TASK_SOURCES: list[tuple[frozenset[Role], TaskSource]] = [
    (frozenset({Role.OFFICER}), reads_to_review),
    # (frozenset({Role.OFFICER}), hotlist_alerts),  <- issue 13: unacknowledged alerts go here
    (frozenset({Role.AUDITOR, Role.ADMINISTRATOR}), open_flags),
    (frozenset({Role.ADMINISTRATOR}), training_due),
]


def home_tasks(request: HttpRequest, agency: Agency) -> list[HomeTask]:
    roles = user_roles(request.user)
    tasks = []
    for wanted, source in TASK_SOURCES:
        if roles & wanted:
            task = source(request, agency)
            if task is not None and task.url:
                tasks.append(task)
    return tasks
