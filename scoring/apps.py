from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring"
    schedules = [("Nightly intent decay", "scoring.tasks.scores_decay", "D", None, 3)]

    def ready(self) -> None:
        from scoring.services import defaults_ensure

        post_migrate.connect(defaults_ensure, sender=self, dispatch_uid="scoring.defaults_ensure")
