"""The review queue and one read's review: confirm, correct or mark unreadable.

Who: Officers and Administrators with current training. The queue is shown only within a
review session of the user's own, started with a stated purpose; a decided read is reached
(and re-reviewed) under a search. Every page and decision is logged by the services.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from audit.models import AccessEvent
from captures.models import Capture, Review
from captures.retention.selectors import visible_captures
from captures.review.forms import ReviewForm, ReviewSessionForm
from captures.review.selectors import (
    REVIEW_SESSION_KEY,
    awaiting_review,
    current_review_session,
    review_doubtful_count,
    review_queue_next,
    review_session_seconds,
)
from captures.review.services import (
    ReviewError,
    ReviewRefused,
    review_confirm,
    review_correct,
    review_item_view,
    review_mark_unreadable,
    review_session_start,
)
from captures.search.forms import error_sentences
from captures.search.selectors import search_event_for
from tenants.http import AgencyRequest, in_agency_time
from tenants.people.access import require_access
from tenants.people.roles import Role

REVIEW_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)
REVIEW_SKIP_KEY = "review_skipped"
SKIPS_KEPT = 200

REVIEWED_NEEDS_SEARCH = (
    "A person has already decided on this read, so it is not in the review queue. Changing "
    "that decision is a re-review, which needs a search with a stated purpose: search for the "
    "plate and open the read from the results."
)


def _review_page(
    request: AgencyRequest,
    capture: Capture | None,
    *,
    form: ReviewForm | None = None,
    search_event: AccessEvent | None = None,
    session_event: AccessEvent | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    page = review_item_view(
        request=request,
        agency=request.tenant,
        capture=capture,
        purpose_event=search_event or session_event,
    )
    if form is None:
        form = ReviewForm(
            initial={"plate": getattr(capture, "plate", ""), "state": getattr(capture, "state", "")}
        )
    context = {
        "capture": capture,
        "form": form,
        "version": page.version,
        "latest_review": page.latest_review,
        "remaining": page.remaining,
        "doubtful": review_doubtful_count(agency=request.tenant),
        "review_threshold": settings.ALPR_REVIEW_THRESHOLD,
        "search_id": search_event.pk if search_event else None,
        "view_id": page.view.pk if page.view else None,
        "session_event": session_event,
        "review_id": session_event.pk if session_event and not search_event else None,
        "error": error,
    }
    return render(request, "captures/review.html", context, status=status)


def _review_notice(
    request: AgencyRequest,
    message: str,
    *,
    status: int,
    capture: Capture,
    search_event: AccessEvent | None = None,
) -> HttpResponse:
    """A refusal that shows no plate data: what happened and where to go next."""
    return render(
        request,
        "captures/review_notice.html",
        {
            "message": message,
            "capture_id": capture.pk,
            "search_id": search_event.pk if search_event else None,
        },
        status=status,
    )


def _review_start_page(
    request: AgencyRequest, form: ReviewSessionForm, *, refused: bool = False, ended: bool = False
) -> HttpResponse:
    return render(
        request,
        "captures/review_start.html",
        {
            "form": form,
            "refused": refused,
            "ended": ended,
            "session_hours": review_session_seconds() / 3600,
        },
    )


def _start_review_session(request: AgencyRequest) -> HttpResponse:
    form = ReviewSessionForm(request.POST, agency=request.tenant)
    valid = form.is_valid()
    data = form.cleaned_data
    form_problems = [] if valid else error_sentences(form)
    started = review_session_start(
        agency=request.tenant,
        user=request.user,
        purpose=data.get("purpose"),
        # What was typed is logged even when the form refuses it.
        purpose_text=data.get("purpose_text") or request.POST.get("purpose_text", ""),
        case_number=data.get("case_number") or request.POST.get("case_number", ""),
        form_problems=form_problems,
        request=request,
    )
    if not started.allowed:
        for problem in started.problems[len(form_problems) :]:
            form.add_error(None, problem)
        return _review_start_page(request, form, refused=True)
    request.session[REVIEW_SESSION_KEY] = started.event.pk
    request.session.pop(REVIEW_SKIP_KEY, None)
    if data.get("item"):
        return redirect("captures:review_item", capture_id=data["item"])
    return redirect("captures:review")


def _ask_for_purpose(request: AgencyRequest) -> HttpResponse:
    """The review session's purpose form; ``?item=`` comes back to that read after."""
    item = request.GET.get("item", "")
    try:
        item = str(Capture._meta.pk.to_python(item)) if item else ""
    except ValidationError:  # a forged id is simply dropped
        item = ""
    form = ReviewSessionForm(agency=request.tenant, initial={"item": item} if item else {})
    return _review_start_page(request, form, ended=REVIEW_SESSION_KEY in request.session)


@require_access(*REVIEW_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def review_next(request: AgencyRequest) -> HttpResponse:
    """The next unconfirmed read, lowest confidence first (skipping what the user skipped).

    The queue is shown only within a review session of the user's own: the first visit (and
    the first after the session ended) asks for its purpose; POST starts the session.
    """
    if request.method == "POST":
        return _start_review_session(request)
    if "restart" in request.GET:  # state a new purpose
        request.session.pop(REVIEW_SESSION_KEY, None)
        return redirect("captures:review")
    skipped = request.session.get(REVIEW_SKIP_KEY, [])
    if "skip" in request.GET:
        request.session[REVIEW_SKIP_KEY] = [*skipped, request.GET["skip"]][-SKIPS_KEPT:]
        return redirect("captures:review")
    if "reset" in request.GET:
        request.session.pop(REVIEW_SKIP_KEY, None)
        return redirect("captures:review")
    session_event = current_review_session(request)
    if session_event is None:
        return _ask_for_purpose(request)
    capture = review_queue_next(agency=request.tenant, skipped=skipped)
    return _review_page(request, capture, session_event=session_event)


@require_access(*REVIEW_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def review_item(request: AgencyRequest, capture_id: uuid.UUID) -> HttpResponse:
    """Review one read: under a search of the user's own (from its capture page), or in a
    review session (from the queue; reads waiting for review only)."""
    capture = get_object_or_404(
        visible_captures(request.tenant).select_related("camera"), pk=capture_id
    )
    search_event = search_event_for(
        user=request.user, event_id=request.POST.get("search") or request.GET.get("search")
    )
    session_event = None if search_event else current_review_session(request)
    purpose_event = search_event or session_event
    if purpose_event is None:
        if request.method == "POST":
            messages.error(
                request,
                "Your review session has ended (it ends when you sign out, or after "
                f"{review_session_seconds() / 3600:g} hours). Nothing was changed: state the "
                "purpose of your review again to go on.",
            )
        return redirect(f"{reverse('captures:review')}?item={capture.pk}")
    if request.method == "POST":
        return _decide(
            request,
            capture,
            purpose_event=purpose_event,
            search_event=search_event,
            session_event=session_event,
        )
    if search_event is None and not awaiting_review(capture):
        return _review_notice(request, REVIEWED_NEEDS_SEARCH, status=403, capture=capture)
    return _review_page(request, capture, search_event=search_event, session_event=session_event)


def _decide(
    request: AgencyRequest,
    capture: Capture,
    *,
    purpose_event: AccessEvent,
    search_event: AccessEvent | None,
    session_event: AccessEvent | None,
) -> HttpResponse:
    """The posted decision, through the review services; refusals are logged by them."""
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _review_page(
            request,
            capture,
            form=form,
            search_event=search_event,
            session_event=session_event,
            error="Choose confirm, correct or unreadable.",
            status=400,
        )
    data = form.cleaned_data
    try:
        review = _apply_decision(
            request,
            capture,
            data,
            related_event_id=purpose_event.pk,
            # A re-review needs a search: a review session covers reads waiting for review.
            allow_rereview=search_event is not None,
        )
    except ReviewRefused as exc:
        if exc.stale:
            return _review_notice(
                request, str(exc), status=409, capture=capture, search_event=search_event
            )
        if search_event is None and not awaiting_review(capture):
            return _review_notice(request, str(exc), status=403, capture=capture)
        return _review_page(
            request,
            capture,
            form=form,
            search_event=search_event,
            session_event=session_event,
            error=str(exc),
            status=400,
        )
    except ReviewError as exc:
        messages.error(request, str(exc))
        return redirect(_after_review(data.get("next"), capture, search_event))
    messages.success(request, _decision_message(review))
    return redirect(_after_review(data.get("next"), capture, search_event))


def _apply_decision(
    request: AgencyRequest,
    capture: Capture,
    data: dict[str, Any],
    *,
    related_event_id: int,
    allow_rereview: bool,
) -> Review:
    common: dict[str, Any] = {
        "agency": request.tenant,
        "capture_id": capture.pk,
        "user": request.user,
        "request": request,
        "version": data.get("version"),
        "rereview": bool(data.get("rereview")),
        "reason": data.get("reason") or "",
        "allow_rereview": allow_rereview,
        "related_event_id": related_event_id,
    }
    if data["action"] == "confirm":
        return review_confirm(**common)
    if data["action"] == "correct":
        # A field left out of the POST keeps its value (an empty one clears the state).
        return review_correct(
            plate=data.get("plate") if "plate" in request.POST else None,
            state=data.get("state") if "state" in request.POST else None,
            **common,
        )
    return review_mark_unreadable(**common)


def _decision_message(review: Review) -> str:
    verb = "Re-reviewed: " if review.replaces_id else ""
    return (
        verb
        + {
            "confirm": f"Confirmed {review.plate_after} {review.state_after}.",
            "correct": f"Corrected {review.plate_before} {review.state_before} to "
            f"{review.plate_after} {review.state_after}.",
            "unreadable": f"Marked {review.plate_before} as unreadable.",
        }[review.action]
    )


def _after_review(next_page: Any, capture: Capture, search_event: AccessEvent | None) -> str:
    if next_page == "capture":
        url = reverse("captures:capture", kwargs={"capture_id": capture.pk})
        return url + (f"?search={search_event.pk}" if search_event else "")
    return reverse("captures:review")
