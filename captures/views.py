"""Plate search, capture pages, the review queue and printing a capture for a case.

Who: Officers and Administrators (the custodians), with current training. Auditors read the
access log instead and cannot search. Every page here writes the access log.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audit.models import AccessEvent, Action, Outcome
from audit.services import record_event
from captures.forms import PrintForm, ReviewForm, ReviewSessionForm, SearchForm
from captures.models import AuthorizedPurpose, Capture
from captures.retention.selectors import visible_captures
from captures.review import (
    CONFIRM_BEFORE_ACTING,
    REVIEW_SESSION_KEY,
    ReviewError,
    ReviewRefused,
    awaiting_review,
    current_review_session,
    review_confirm,
    review_correct,
    review_mark_unreadable,
    review_queue,
    review_session_seconds,
    review_session_start,
    review_version,
)
from captures.search import (
    PatternError,
    SearchQuery,
    capture_search,
    logged_query,
    page_locations,
    purpose_problems,
    related_search,
    result_locations,
    search_event_for,
    search_page,
)
from tenants.people.access import require_access
from tenants.people.roles import Role

PAGE_SIZE = 50
OTHER_READS_LIMIT = 50
SEARCH_ROLES = (Role.OFFICER, Role.ADMINISTRATOR)
REVIEW_SKIP_KEY = "review_skipped"


def in_agency_time(view):
    """Render (and parse form times) in the agency's time zone."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with timezone.override(request.tenant.tz):
            return view(request, *args, **kwargs)

    return wrapped


def _visible_capture(request: HttpRequest, capture_id) -> Capture:
    """The capture if it is this agency's and within retention; 404 otherwise."""
    return get_object_or_404(
        visible_captures(request.tenant).select_related("camera"), pk=capture_id
    )


# --- search ----------------------------------------------------------------


def _raw_query(form: SearchForm) -> dict[str, Any]:
    """Every query element as typed, for the log of a refused search."""
    data = form.data
    return {
        "plate": data.get("plate", "")[:40],
        "state": data.get("state", "")[:2],
        "from": data.get("start", "")[:40],
        "to": data.get("end", "")[:40],
        "cameras": [c[:20] for c in data.getlist("cameras")[:250]]
        if hasattr(data, "getlist")
        else [],
        "include_unconfirmed": bool(data.get("include_unconfirmed")),
        "similar": bool(data.get("similar")),
    }


def _error_sentences(form: SearchForm) -> list[str]:
    sentences = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        for error in errors:
            sentences.append(
                f"{label or name.replace('_', ' ').capitalize()}: {error}" if label else error
            )
    return sentences


def _results_context(results, *, page_number: Any = 1) -> dict[str, Any]:
    page = search_page(results, number=page_number, per_page=PAGE_SIZE)
    count = page.paginator.count
    points = page_locations(page)
    return {
        "page_obj": page,
        "result_count": count,
        "map_points": (result_locations(results) if points is None else points) if count else [],
    }


@require_access(*SEARCH_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def search(request: HttpRequest) -> HttpResponse:
    agency = request.tenant
    sort = request.GET.get("sort", "time_desc")
    sort = sort if sort in {"time_desc", "time_asc"} else "time_desc"
    if request.method == "GET":
        context: dict[str, Any] = {}
        if "search" in request.GET:
            event = related_search(request)
            if event is None:
                raise Http404("No such search of yours.")
            # Shown as it was run: nothing captured, received or read after that moment.
            query, as_of, end_capped = logged_query(event)
            try:
                results = capture_search(agency=agency, query=query, as_of=as_of, sort=sort)
                context.update(_results_context(results, page_number=request.GET.get("page")))
            except PatternError:  # an entry not written by this form cannot be re-run
                raise Http404("This search cannot be shown again; run it anew.") from None
            context.update(
                {
                    "search_event": event,
                    "search_id": event.pk,
                    "sort": sort,
                    "as_of": as_of,
                    "end_capped": end_capped,
                }
            )
            form = SearchForm(agency=agency, initial=_initial_from_event(event, query))
        else:
            form = SearchForm(agency=agency)
        context["form"] = form
        return render(request, "captures/search.html", context)

    form = SearchForm(request.POST, agency=agency)
    valid = form.is_valid()
    data = getattr(form, "cleaned_data", {})
    purpose = data.get("purpose")
    # What was typed is logged even when the form refuses it, cut to the log's field sizes.
    purpose_text = (data.get("purpose_text") or request.POST.get("purpose_text", "")).strip()[:1000]
    case_number = (data.get("case_number") or request.POST.get("case_number", "")).strip()[:100]
    problems = purpose_problems(
        agency=agency, purpose=purpose, purpose_text=purpose_text, case_number=case_number
    )
    for problem in problems:
        form.add_error(None, problem)
    if not valid or problems:
        with transaction.atomic():
            record_event(
                action=Action.SEARCH,
                request=request,
                outcome=Outcome.REFUSED,
                reason=" ".join(_error_sentences(form)),
                purpose_category=purpose.name if purpose else "",
                purpose_text=purpose_text,
                case_number=case_number,
                query=_raw_query(form),
            )
        return render(request, "captures/search.html", {"form": form, "refused": True})

    as_of = timezone.now()
    # A range ending in the future is searched up to now: shown again later, the search must
    # not take in reads that arrived after it was run.
    query, end_capped = form.query().capped(at=as_of)
    with transaction.atomic():
        results = capture_search(agency=agency, query=query, as_of=as_of, sort=sort)
        context = _results_context(results)
        event = record_event(
            action=Action.SEARCH,
            request=request,
            purpose_category=purpose.name,
            purpose_text=purpose_text,
            case_number=case_number,
            query=query.as_log(),
            details={
                "result_count": context["result_count"],
                "as_of": as_of.isoformat(),
                "end_capped": end_capped,
            },
        )
    if end_capped:
        form = SearchForm(agency=agency, initial=_initial_from_event(event, query))
    context.update(
        {
            "form": form,
            "search_id": event.pk,
            "search_event": event,
            "sort": sort,
            "as_of": as_of,
            "end_capped": end_capped,
        }
    )
    return render(request, "captures/search.html", context)


def _initial_from_event(event, query: SearchQuery) -> dict[str, Any]:
    return {
        "plate": query.plate,
        "similar": query.similar,
        "state": query.state,
        "start": timezone.localtime(query.start) if query.start else None,
        "end": timezone.localtime(query.end) if query.end else None,
        "cameras": list(query.camera_ids),
        "include_unconfirmed": query.include_unconfirmed,
        "purpose": AuthorizedPurpose.objects.filter(name=event.purpose_category).first(),
        "case_number": event.case_number,
        "purpose_text": event.purpose_text,
    }


# --- capture page ------------------------------------------------------------


def _log_capture_view(
    request: HttpRequest,
    capture: Capture,
    *,
    source: str,
    purpose_event: AccessEvent | None = None,
    **details: Any,
) -> AccessEvent:
    """One ``capture_viewed`` entry carrying the purpose of the search or review session."""
    return record_event(
        action=Action.CAPTURE_VIEWED,
        request=request,
        purpose_category=purpose_event.purpose_category if purpose_event else "",
        purpose_text=purpose_event.purpose_text if purpose_event else "",
        case_number=purpose_event.case_number if purpose_event else "",
        query=purpose_event.query if purpose_event else None,
        objects=[("capture", capture.pk)],
        related_event_id=purpose_event.pk if purpose_event else None,
        details={"plate": capture.plate, "state": capture.state, "source": source, **details},
    )


@require_access(*SEARCH_ROLES, trained=True)
@require_http_methods(["GET"])
@in_agency_time
def capture_detail(request: HttpRequest, capture_id) -> HttpResponse:
    capture = _visible_capture(request, capture_id)
    search_event = related_search(request)
    # Other reads of the plate are a search of that plate: listed only under a search of the
    # user's own, with its purpose. Opened directly, the page shows this read alone.
    others = (
        list(
            visible_captures(request.tenant)
            .filter(plate=capture.plate)
            .exclude(pk=capture.pk)
            .select_related("camera")
            .order_by("-captured_at")[:OTHER_READS_LIMIT]
        )
        if capture.plate and search_event is not None
        else []
    )
    with transaction.atomic():
        _log_capture_view(
            request,
            capture,
            source="search" if search_event else "direct",
            purpose_event=search_event,
            other_reads_shown=len(others),
        )
    return render(
        request,
        "captures/capture.html",
        {
            "capture": capture,
            "reviews": capture.reviews.all(),
            "others": others,
            "search_id": search_event.pk if search_event else None,
        },
    )


@require_access(*SEARCH_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def capture_print(request: HttpRequest, capture_id) -> HttpResponse:
    capture = _visible_capture(request, capture_id)
    search_event = related_search(request)
    back = reverse("captures:capture", kwargs={"capture_id": capture.pk})
    if search_event:
        back += f"?search={search_event.pk}"
    if not capture.is_confirmed:
        messages.error(request, CONFIRM_BEFORE_ACTING)
        return redirect(back)
    if request.method == "POST":
        form = PrintForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                record_event(
                    action=Action.EXPORT,
                    request=request,
                    purpose_category=search_event.purpose_category if search_event else "",
                    purpose_text=search_event.purpose_text if search_event else "",
                    case_number=form.cleaned_data["case_number"],
                    objects=[("capture", capture.pk)],
                    related_event_id=search_event.pk if search_event else None,
                    details={"format": "print", "plate": capture.plate, "state": capture.state},
                )
            return render(
                request,
                "captures/print.html",
                {
                    "capture": capture,
                    "case_number": form.cleaned_data["case_number"],
                    "search_id": search_event.pk if search_event else None,
                    "printed_at": timezone.now(),
                },
            )
    else:
        form = PrintForm(initial={"case_number": search_event.case_number if search_event else ""})
    return render(
        request, "captures/print_form.html", {"capture": capture, "form": form, "back": back}
    )


# --- review queue ----------------------------------------------------------------


def _review_page(
    request: HttpRequest,
    capture: Capture | None,
    *,
    form: ReviewForm | None = None,
    search_event: AccessEvent | None = None,
    session_event: AccessEvent | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    if capture is not None:
        with transaction.atomic():
            _log_capture_view(
                request, capture, source="review", purpose_event=search_event or session_event
            )
    remaining = review_queue(agency=request.tenant).count()
    return render(
        request,
        "captures/review.html",
        {
            "capture": capture,
            "form": form
            or ReviewForm(
                initial={
                    "plate": getattr(capture, "plate", ""),
                    "state": getattr(capture, "state", ""),
                }
            ),
            "version": review_version(capture) if capture is not None else 0,
            "latest_review": capture.reviews.order_by("-id").first() if capture else None,
            "remaining": remaining,
            "search_id": search_event.pk if search_event else None,
            "session_event": session_event,
            "review_id": session_event.pk if session_event and not search_event else None,
            "error": error,
        },
        status=status,
    )


def _review_notice(
    request: HttpRequest,
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
    request: HttpRequest, form: ReviewSessionForm, *, refused: bool = False, ended: bool = False
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


def _start_review_session(request: HttpRequest) -> HttpResponse:
    form = ReviewSessionForm(request.POST, agency=request.tenant)
    valid = form.is_valid()
    data = getattr(form, "cleaned_data", {})
    form_problems = [] if valid else _error_sentences(form)
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


@require_access(*SEARCH_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def review_next(request: HttpRequest) -> HttpResponse:
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
        skipped = [*skipped, request.GET["skip"]][-200:]
        request.session[REVIEW_SKIP_KEY] = skipped
        return redirect("captures:review")
    if "reset" in request.GET:
        request.session.pop(REVIEW_SKIP_KEY, None)
        return redirect("captures:review")
    session_event = current_review_session(request)
    if session_event is None:
        item = request.GET.get("item", "")
        try:
            item = str(Capture._meta.pk.to_python(item)) if item else ""
        except ValidationError:  # a forged id is simply dropped
            item = ""
        form = ReviewSessionForm(agency=request.tenant, initial={"item": item} if item else {})
        return _review_start_page(request, form, ended=REVIEW_SESSION_KEY in request.session)
    queue = review_queue(agency=request.tenant)
    valid_skips = []
    for value in skipped:
        with contextlib.suppress(ValidationError):  # a stale or forged id is not skipped
            valid_skips.append(str(Capture._meta.pk.to_python(value)))
    capture = queue.exclude(pk__in=valid_skips).first() if valid_skips else queue.first()
    return _review_page(request, capture, session_event=session_event)


@require_access(*SEARCH_ROLES, trained=True)
@require_http_methods(["GET", "POST"])
@in_agency_time
def review_item(request: HttpRequest, capture_id) -> HttpResponse:
    """Review one read: under a search of the user's own (from its capture page), or in a
    review session (from the queue; reads waiting for review only)."""
    capture = _visible_capture(request, capture_id)
    search_event = search_event_for(
        user=request.user, event_id=request.POST.get("search") or request.GET.get("search")
    )
    session_event = None if search_event else current_review_session(request)
    start_url = f"{reverse('captures:review')}?item={capture.pk}"
    if search_event is None and session_event is None:
        if request.method == "POST":
            messages.error(
                request,
                "Your review session has ended (it ends when you sign out, or after "
                f"{review_session_seconds() / 3600:g} hours). Nothing was changed: state the "
                "purpose of your review again to go on.",
            )
        return redirect(start_url)
    if request.method == "GET":
        if search_event is None and not awaiting_review(capture):
            return _review_notice(request, REVIEWED_NEEDS_SEARCH, status=403, capture=capture)
        return _review_page(
            request, capture, search_event=search_event, session_event=session_event
        )
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
    purpose_event = search_event or session_event
    common = {
        "agency": request.tenant,
        "capture_id": capture.pk,
        "user": request.user,
        "request": request,
        "version": data.get("version"),
        "rereview": bool(data.get("rereview")),
        "reason": data.get("reason") or "",
        "allow_rereview": search_event is not None,
        "related_event_id": purpose_event.pk,
    }
    try:
        if data["action"] == "confirm":
            review = review_confirm(**common)
        elif data["action"] == "correct":
            # A field left out of the POST keeps its value (an empty one clears the state).
            review = review_correct(
                plate=data.get("plate") if "plate" in request.POST else None,
                state=data.get("state") if "state" in request.POST else None,
                **common,
            )
        else:
            review = review_mark_unreadable(**common)
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
    verb = "Re-reviewed: " if review.replaces_id else ""
    messages.success(
        request,
        verb
        + {
            "confirm": f"Confirmed {review.plate_after} {review.state_after}.",
            "correct": f"Corrected {review.plate_before} {review.state_before} to "
            f"{review.plate_after} {review.state_after}.",
            "unreadable": f"Marked {review.plate_before} as unreadable.",
        }[review.action],
    )
    return redirect(_after_review(data.get("next"), capture, search_event))


REVIEWED_NEEDS_SEARCH = (
    "A person has already decided on this read, so it is not in the review queue. Changing "
    "that decision is a re-review, which needs a search with a stated purpose: search for the "
    "plate and open the read from the results."
)


def _after_review(next_page: str | None, capture: Capture, search_event) -> str:
    if next_page == "capture":
        url = reverse("captures:capture", kwargs={"capture_id": capture.pk})
        return url + (f"?search={search_event.pk}" if search_event else "")
    return reverse("captures:review")
