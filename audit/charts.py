"""Server-rendered SVG charts (no script, no inline style: the page's CSP stays 'self')."""

from __future__ import annotations

import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = [
    "#1f5fae", "#e07b00", "#2e8b57", "#b42318", "#7a4fb5",
    "#0e9aa7", "#c2185b", "#6d7b8d", "#8c6d1f", "#3f51b5",
]  # fmt: skip


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def stacked_days(
    data: dict[datetime.date, dict[str, int]],
    *,
    start: datetime.date,
    end: datetime.date,
    title: str,
) -> SafeString:
    """Searches per day, one stacked bar per day, one colour per purpose category."""
    days = [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]
    categories = sorted({c for per_day in data.values() for c in per_day})
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(categories)}
    totals = [sum(data.get(d, {}).values()) for d in days]
    top = _nice_max(max(totals, default=0))
    width, height, left, bottom, top_pad = 760, 260, 44, 40, 12
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    bar_w = max(plot_w / max(len(days), 1), 1)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height + 18 * ((len(categories) + 3) // 4)}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i in range(5):
        value = top * i / 4
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9e0e8"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6776">'
            f"{value:g}</text>"
        )
    label_every = max(1, len(days) // 10)
    for index, day in enumerate(days):
        x = left + index * bar_w
        y = top_pad + plot_h
        for category in categories:
            n = data.get(day, {}).get(category, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{colours[category]}"><title>{day:%Y-%m-%d} '
                f"{escape(category)}: {n}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="11" fill="#5b6776">{day:%m-%d}</text>'
            )
    for i, category in enumerate(categories):
        x = left + (i % 4) * 180
        y = height + 18 * (i // 4) - 8
        parts.append(
            f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colours[category]}"/>'
            f'<text x="{x + 16}" y="{y}" font-size="12" fill="#1d2733">{escape(category)}</text>'
        )
    if not any(totals):
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#5b6776">'
            "No searches in this period.</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


def horizontal_bars(rows: list[tuple[str, int, int]], *, title: str) -> SafeString:
    """One bar per user: searches, with the refused ones in red at the end of the bar."""
    width, row_h, left = 760, 22, 150
    height = max(len(rows), 1) * row_h + 24
    top = _nice_max(max((n for _, n, _ in rows), default=0))
    plot_w = width - left - 60
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (name, n, refused) in enumerate(rows):
        y = 8 + i * row_h
        w = plot_w * n / top
        rw = plot_w * refused / top
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12" fill="#1d2733">'
            f"{escape(name[:22])}</text>"
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="#1f5fae">'
            f"<title>{escape(name)}: {n} searches, {refused} refused</title></rect>"
        )
        if refused:
            parts.append(
                f'<rect x="{left + w - rw:.1f}" y="{y + 2}" width="{rw:.1f}" '
                f'height="{row_h - 6}" fill="#b42318"/>'
            )
        parts.append(
            f'<text x="{left + w + 6:.1f}" y="{y + 14}" font-size="12" fill="#5b6776">{n}</text>'
        )
    if not rows:
        parts.append(
            f'<text x="{width / 2}" y="20" text-anchor="middle" fill="#5b6776">'
            "No searches in this period.</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped
