from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QualificationConfig(AppConfig):
    """The qualification checklist: per-team data points an AE needs, answered on the lead page as the rep types."""

    name = "sdr_desk.qualification"
    label = "qualification"
    verbose_name = "Qualification"
    # The lead page's checklist panel (the board includes it, importing nothing of this app).
    lead_panels = ["qualification/_lead_panel.html"]
    outcome_timeline_kinds = ["qualification"]
    # A disposition whose code requires the checklist is refused while a required answer is missing.
    disposition_checks = ["sdr_desk.qualification.services.answers_check"]
    role_permissions = {
        "SDR": ["qualification.view_checklistitem", "qualification.view_answer", "qualification.change_answer"],
        "AE": ["qualification.view_checklistitem", "qualification.view_answer"],
        "Marketing": ["qualification.view_checklistitem", "qualification.view_answer"],
        "Manager": ["qualification.view_checklistitem", "qualification.add_checklistitem",
                    "qualification.change_checklistitem", "qualification.view_answer",
                    "qualification.change_answer"],
    }

    def ready(self) -> None:
        from sdr_desk.qualification import receivers  # noqa: F401  every new team starts with the default checklist
        from sdr_desk.qualification.defaults import checklists_ensure

        post_migrate.connect(checklists_ensure, sender=self, dispatch_uid="qualification.checklists_ensure")
