from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HandoffConfig(AppConfig):
    """The AE handoff: qualified leads routed to an AE, accepted or rejected within an SLA, and the first meeting."""

    name = "sdr_desk.handoff"
    label = "handoff"
    verbose_name = "AE handoff"
    # The lead page's handoff panel (the board includes it, importing nothing of this app).
    lead_panels = ["handoff/_lead_panel.html"]
    # The timeline kinds this app records, offered to outbound webhooks (sdr_desk/webhooks).
    webhook_events = {
        "handoff": "A lead handed off to an AE, or its handoff escalated, reassigned or cancelled",
        "handoff_verdict": "An AE accepted or rejected a handed-off lead",
        "meeting": "A meeting's outcome recorded (held, no-show, rescheduled, cancelled)",
    }
    # A column of the managers' disposition review page: the lead's handoff and the AE's verdict.
    review_columns = [{"header": "Handoff", "cell": "handoff/_review_cell.html",
                       "attach": "sdr_desk.handoff.review.handoffs_attach"}]
    schedules = [("Handoff acceptance watch", "sdr_desk.handoff.tasks.handoff_watch", "I", 1, None)]
    # The AE's home is their inbox (sdr_desk/homes.py).
    role_homes = {"AE": ("handoff-inbox", 20)}
    role_permissions = {
        "SDR": ["handoff.add_handoff", "handoff.view_handoff", "handoff.view_rejectionreason"],
        "AE": ["handoff.view_handoff", "handoff.change_handoff", "handoff.view_rejectionreason"],
        "Marketing": ["handoff.view_handoff", "handoff.view_rejectionreason"],
        "Manager": ["handoff.add_handoff", "handoff.view_handoff", "handoff.view_rejectionreason",
                    "handoff.add_rejectionreason", "handoff.change_rejectionreason",
                    "handoff.view_handoffsettings", "handoff.change_handoffsettings",
                    "handoff.add_handoffsettings"],
    }

    def ready(self) -> None:
        from sdr_desk.handoff.defaults import reasons_ensure

        post_migrate.connect(reasons_ensure, sender=self, dispatch_uid="handoff.reasons_ensure")
