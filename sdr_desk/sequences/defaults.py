"""The seeds' default sequences, made once (on migrate) and then the managers' to change.

Hand-raisers: call first, within minutes, then voicemail and email, then calls, emails and texts: seven
attempts over five business days. Researchers: email first about the asset they took, then LinkedIn, calls
and emails: seven attempts over seven business days. Neither enrols anyone by itself: a manager switches on
auto-enrolment for a team (or enrols leads by hand). Light interest goes to nurture, not to a sequence.
"""

from __future__ import annotations

from datetime import time
from typing import Any

EMAIL_FIRST = ("{first_name}, the {asset} you took",
               "Hi {first_name},\n\nThanks for taking a look at {asset}. Teams like {company} usually ask us next "
               "how it fits their setup; happy to walk you through it in 15 minutes.\n\n{rep_signature}")
EMAIL_FOLLOW = ("Re: {asset}",
                "Hi {first_name},\n\nA quick follow-up: is there a good time this week to talk about what {company} "
                "is trying to solve?\n\n{rep_signature}")
EMAIL_CALLED = ("Sorry I missed you, {first_name}",
                "Hi {first_name},\n\nI tried to call about your request. When suits you for a short call?"
                "\n\n{rep_signature}")

DEFAULTS: dict[str, dict[str, Any]] = {
    "Hand-raisers: call first": {"tier": "hand_raiser", "steps": [
        {"channel": "call", "delay_minutes": 2, "window_start": time(8), "window_end": time(20)},
        {"channel": "voicemail", "delay_business_days": 0, "window_start": time(8), "window_end": time(20)},
        {"channel": "email", "mode": "manual", "delay_business_days": 0, "subject": EMAIL_CALLED[0],
         "body": EMAIL_CALLED[1]},
        {"channel": "call", "delay_business_days": 1},
        {"channel": "sms", "delay_business_days": 1},
        {"channel": "call", "delay_business_days": 1},
        {"channel": "email", "mode": "automatic", "delay_business_days": 2, "subject": EMAIL_FOLLOW[0],
         "body": EMAIL_FOLLOW[1]},
    ]},
    "Researchers: email first": {"tier": "researcher", "steps": [
        {"channel": "email", "mode": "automatic", "delay_minutes": 30, "subject": EMAIL_FIRST[0],
         "body": EMAIL_FIRST[1]},
        {"channel": "linkedin", "delay_business_days": 1},
        {"channel": "call", "delay_business_days": 1},
        {"channel": "email", "mode": "automatic", "delay_business_days": 2, "subject": EMAIL_FOLLOW[0],
         "body": EMAIL_FOLLOW[1]},
        {"channel": "call", "delay_business_days": 1},
        {"channel": "sms", "delay_business_days": 1},
        {"channel": "email", "mode": "manual", "delay_business_days": 1, "subject": EMAIL_FOLLOW[0],
         "body": EMAIL_FOLLOW[1]},
    ]},
}


def templates_ensure(**kwargs: Any) -> None:
    """post_migrate: make each default sequence that does not exist by name (edits are never undone)."""
    from django.db import transaction

    from sdr_desk.sequences.models import SequenceTemplate, Step

    for name, spec in DEFAULTS.items():
        if SequenceTemplate.objects.filter(name=name).exists():
            continue
        with transaction.atomic():
            template = SequenceTemplate.objects.create(name=name, tier=spec["tier"], auto_enroll=False)
            for position, fields in enumerate(spec["steps"]):
                step = Step(template=template, position=position, **fields)
                step.full_clean()
                step.save()
