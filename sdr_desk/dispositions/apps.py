from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DispositionsConfig(AppConfig):
    """How each worked lead ends: managed disposition codes, and the one service that records one."""

    name = "sdr_desk.dispositions"
    label = "dispositions"
    verbose_name = "Dispositions"
    # Panels the board's lead page includes (the board imports nothing of this app).
    lead_panels = ["dispositions/_lead_panel.html"]
    # Kept from the timeline of SDRs of other teams (the board reads this; see sdr_desk/board/lead_page.py).
    outcome_timeline_kinds = ["disposition"]
    # Offered to outbound webhooks (sdr_desk/webhooks): the timeline kind this app records.
    webhook_events = {"disposition": "A lead's disposition recorded, changed or reopened"}
    schedules = [("Nurture re-engagement", "sdr_desk.dispositions.tasks.nurture_reengage", "I", 15, None)]
    # Added to the project's roles (sdr_desk/roles.py) on every migrate.
    role_permissions = {
        "SDR": ["dispositions.view_dispositioncode", "dispositions.view_disposition"],
        "AE": ["dispositions.view_disposition"],
        "Marketing": ["dispositions.view_disposition", "dispositions.view_dispositioncode"],
        "Manager": ["dispositions.view_disposition", "dispositions.change_disposition", "dispositions.view_dispositioncode",
                    "dispositions.add_dispositioncode", "dispositions.change_dispositioncode"],
    }

    def ready(self) -> None:
        from sdr_desk.dispositions import receivers  # noqa: F401  hears routing reopen a closed lead
        from sdr_desk.dispositions.defaults import codes_ensure

        post_migrate.connect(codes_ensure, sender=self, dispatch_uid="dispositions.codes_ensure")
