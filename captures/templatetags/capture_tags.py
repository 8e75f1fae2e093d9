"""Template helpers for reads: image links (through the authenticated image view) and badges."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

register = template.Library()

# The captures app's authenticated image view (named "capture-image" on its branch).
IMAGE_URL_NAMES = ("captures:image", "captures:capture-image")


@register.simple_tag
def capture_image_url(capture, kind: str, search_id=None, review_id=None) -> str:
    """URL of a capture's plate or vehicle image, linked to the search (or the review
    session) that led here."""
    for name in IMAGE_URL_NAMES:
        try:
            url = reverse(name, kwargs={"capture_id": capture.pk, "kind": kind})
        except NoReverseMatch:
            continue
        if search_id:
            return f"{url}?search={search_id}"
        return f"{url}?review={review_id}" if review_id else url
    return ""  # the image view is not installed (e.g. a partial deployment)


@register.simple_tag
def read_badge(capture) -> str:
    """Whether a person confirmed the read, shown wherever a read appears."""
    status = capture.review_status
    if status in {"confirmed", "corrected"}:
        label = "Confirmed" if status == "confirmed" else "Corrected"
        who = f" by {capture.reviewed_by_username}" if capture.reviewed_by_username else ""
        return format_html(
            '<span class="badge badge-confirmed" title="{}">{}</span>', f"{label}{who}", label
        )
    if status == "unreadable":
        return format_html('<span class="badge badge-refused">{}</span>', "Unreadable")
    return format_html(
        '<span class="badge badge-unconfirmed" title="{}">{}</span>',
        "No person has confirmed this read yet",
        "Unconfirmed",
    )


@register.filter
def percent(value) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.0f}%"
