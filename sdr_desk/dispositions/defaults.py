"""The codes a new desk starts with, from the seeds; managers change them afterwards."""

from __future__ import annotations

from typing import Any

# (name, slug, outcome, reason required, reasons, needs a re-engage date); qualified codes require the checklist.
DEFAULT_CODES = [
    ("Qualified - meeting set", "qualified-meeting-set", "qualified", False, [], False),
    ("Qualified - handed to AE", "qualified-handed-to-ae", "qualified", False, [], False),
    ("Not ready - nurture", "not-ready-nurture", "nurture", True,
     ["No budget this year", "Timing: next quarter or later", "Researching only", "Waiting on a contract to end"],
     True),
    ("Bad fit", "bad-fit", "disqualified", True,
     ["Too small", "Wrong industry", "Wrong region", "Student", "Competitor", "Job seeker"], False),
    ("No response", "no-response", "closed", False, ["Sequence ended without a reply"], False),
    ("Duplicate", "duplicate", "closed", False, [], False),
    ("Spam or invalid", "spam-or-invalid", "disqualified", True,
     ["Fake or test submission", "Invalid contact details", "Bot"], False),
]


def codes_ensure(**kwargs: Any) -> None:
    """After every migrate (and a test database's flush): the defaults, when the desk has no codes at all.

    A desk that has codes keeps exactly the ones its managers left; nothing comes back behind their backs.
    """
    from sdr_desk.dispositions.models import DispositionCode

    if DispositionCode.objects.exists():
        return
    DispositionCode.objects.bulk_create([
        DispositionCode(name=name, slug=slug, outcome=outcome, reason_required=reason_required, reasons=reasons,
                        needs_reengage_date=reengage, position=position * 10,
                        requires_answers=outcome == "qualified")
        for position, (name, slug, outcome, reason_required, reasons, reengage) in enumerate(DEFAULT_CODES)
    ], ignore_conflicts=True)
