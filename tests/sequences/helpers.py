"""Templates, steps and enrolled leads for the sequence tests."""

from __future__ import annotations

from datetime import time

from sdr_desk.sequences.models import SequenceTemplate, Step


def template_make(name: str = "Hand-raisers", *, steps: list[dict] | None = None, **fields) -> SequenceTemplate:
    template = SequenceTemplate.objects.create(name=name, **fields)
    for position, step in enumerate(steps or [{"channel": "call", "delay_minutes": 0}]):
        step = {"window_start": time(0), "window_end": time(23, 59), "weekdays": list(range(7)), **step}
        Step.objects.create(template=template, position=position, **step)
    return template
