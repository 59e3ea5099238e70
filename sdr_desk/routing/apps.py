from django.apps import AppConfig


class RoutingConfig(AppConfig):
    """Teams, reps and their hours, routing rules, ownership, touches and the SLA clock."""

    name = "sdr_desk.routing"
    label = "routing"
    verbose_name = "Routing"
    # The lead page's hand-out panel, for the manager of the lead's team (the board includes it, importing nothing).
    lead_panels = ["routing/_lead_panel.html"]
    schedules = [
        ("SLA watch", "sdr_desk.routing.tasks.sla_watch", "I", 1, None),
        ("Hand on missed leads", "sdr_desk.routing.tasks.handon_sweep", "I", 1, None),
    ]

    def ready(self) -> None:
        from sdr_desk.routing import receivers  # noqa: F401  subscribes routing to intake's hand-on
