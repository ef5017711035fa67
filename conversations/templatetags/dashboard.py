"""The dashboard's durations as people read them, and its bar chart drawn on the server as SVG
(no script, no external service)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import formats

from conversations.dashboard import Bucket

register = template.Library()

# The chart's drawing box (the SVG scales to the page through its viewBox).
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 720, 220, 12, 28, 36


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """ "45 s", "4 min 05 s", "2 h 10 min", "3 d 4 h"; "—" for none."""
    if value is None:
        return "—"
    seconds = round(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _label(start: dt.datetime, hourly: bool) -> str:
    return formats.date_format(start, "H:i" if hourly else "D j M")


@register.inclusion_tag("console/dashboard_chart.html")
def bar_chart(buckets: list[Bucket], hourly: bool) -> dict[str, Any]:
    """Bars of conversations opened (and, inside them, handed over) per bucket, with a y axis
    topped at a round number; every bar has a <title> and the page has the same as a table."""
    top = max([b.opened for b in buckets] + [1])
    scale_max = next(n for n in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10**9) if n >= top)
    if top > 1000:
        scale_max = -(-top // 1000) * 1000
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(buckets), 1)
    step = max(1, round(len(buckets) / 12))  # at most about 12 labels
    bars = []
    for i, bucket in enumerate(buckets):
        height = plot_h * bucket.opened / scale_max
        handed = plot_h * bucket.handed_over / scale_max
        x = LEFT + i * slot + slot * 0.15
        bars.append(
            {
                "x": round(x, 1),
                "width": round(slot * 0.7, 1),
                "y": round(TOP + plot_h - height, 1),
                "height": round(height, 1),
                "handed_y": round(TOP + plot_h - handed, 1),
                "handed_height": round(handed, 1),
                "label": _label(bucket.start, hourly) if i % step == 0 else "",
                "label_x": round(x + slot * 0.35, 1),
                "title": f"{_label(bucket.start, hourly)}: {bucket.opened} opened, {bucket.handed_over} handed over",
            }
        )
    return {
        "bars": bars,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "baseline": TOP + plot_h,
        "top": TOP,
        "scale_max": scale_max,
        "label_y": HEIGHT - 8,
        "summary": f"Bar chart of conversations opened per {'hour' if hourly else 'day'}, up to {scale_max}; "
        "the same figures are in the table below.",
    }
