"""Template helpers for reads, used by the search, review and capture pages: image links
(through the authenticated image view, captures/viewing) and badges."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from captures.models import Capture

register = template.Library()


@register.simple_tag
def capture_image_url(capture: Capture, kind: str, view_id: Any = None) -> str:
    """URL of a capture's plate or vehicle image under the access-log entry of the page that
    shows it (``view_id``; it lists the image). No entry or no such image: ""."""
    if not view_id or not getattr(capture, f"{kind}_image", ""):
        return ""
    url = reverse("captures:capture-image", kwargs={"capture_id": capture.pk, "kind": kind})
    return f"{url}?view={view_id}"


@register.simple_tag
def read_badge(capture: Capture) -> SafeString:
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
def percent(value: float | None) -> str:
    """A confidence in percent; near-certain reads keep one decimal, rounded down, so 0.9988
    shows as 99.8% and only a certain one as 100%."""
    if value is None:
        return "—"
    share = float(value) * 100
    if 99 <= share < 100:
        return f"{math.floor(share * 10) / 10:.1f}%"
    return f"{share:.0f}%"
