"""How a report's figure reads: durations as s/min/h/d, rates as percentages, an empty figure as a dash."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes = seconds / 60
        return f"{minutes:.1f} min" if minutes < 10 else f"{minutes:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@register.filter
def figure(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "duration":
        return duration_text(value)
    if kind == "rate":
        return f"{value * 100:.0f}%"
    if kind == "number":
        return f"{value:.1f}"
    if kind == "count":
        return f"{value:,}"
    return str(value)
