from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "inbound"
    verbose_name = "Intake"
    # (name, task, "I" every N minutes or "D" daily, minutes, daily hour UTC): kept by sdr_desk.schedules
    schedules = [("Replay failed submissions", "inbound.tasks.failed_submissions_replay", "I", 5, None)]

    def ready(self) -> None:
        from inbound import schema  # noqa: F401  registers the API key's OpenAPI scheme
