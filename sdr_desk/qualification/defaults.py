"""The checklist a new team starts with: the data points the seeds say an AE needs (a light BANT / MEDDICC)."""

from __future__ import annotations

from typing import Any

# (key, label, help text, required)
DEFAULT_ITEMS = [
    ("role", "Role and authority", "Their role, and whether they decide, influence or research for someone who does.",
     True),
    ("pain", "The pain", "The problem they are trying to solve, in their words.", True),
    ("current_solution", "Current solution", "The tools or process they use today, and what falls short.", False),
    ("timeline", "Timeline", "When they want to evaluate and decide; what sets the date.", True),
    ("budget", "Budget or constraints", "Budget, region, security review, contract end: what could stop a deal.",
     False),
    ("decision_process", "Decision process", "Who else is involved, and the steps to a signature.", False),
    ("why_now", "Why now", "What made them reach out today, and which content or feature resonated.", False),
]


def checklist_defaults(team_id: int) -> list[Any]:
    from sdr_desk.qualification.models import ChecklistItem

    return [ChecklistItem(team_id=team_id, key=key, label=label, help_text=help_text, required=required,
                          position=(position + 1) * 10)
            for position, (key, label, help_text, required) in enumerate(DEFAULT_ITEMS)]


def checklists_ensure(**kwargs: Any) -> None:
    """After every migrate: a team that never had a checklist gets the default one (retired items still count)."""
    from sdr_desk.qualification.models import ChecklistItem
    from sdr_desk.routing.models import Team

    bare = Team.objects.exclude(pk__in=ChecklistItem.objects.values("team_id")).values_list("pk", flat=True)
    ChecklistItem.objects.bulk_create([item for team_id in bare for item in checklist_defaults(team_id)],
                                      ignore_conflicts=True)
