from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports for managers, marketing and reps: speed to lead, the funnel, the handoff, coaching.

    Reads the other apps' rows and writes nothing but its own rollups (``LeadFact``) and the snapshots of its slow figures."""

    name = "sdr_desk.reports"
    label = "reports"
    verbose_name = "Reports"
    schedules = [
        ("Report facts", "sdr_desk.reports.tasks.facts_watch", "I", 1, None),
        ("Report facts rebuild", "sdr_desk.reports.tasks.facts_rebuild", "D", None, 3),
        ("Report snapshots", "sdr_desk.reports.tasks.snapshots_warm", "I", 5, None),
    ]
    # Marketing's home: what became of its leads.
    role_homes = {"Marketing": ("reports-handoff", 20)}
    role_permissions = {"SDR": ["reports.view_leadfact"], "Manager": ["reports.view_leadfact"],
                        "Marketing": ["reports.view_leadfact"]}
