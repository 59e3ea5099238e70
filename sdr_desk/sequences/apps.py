from django.apps import AppConfig


class SequencesConfig(AppConfig):
    """Multi-touch sequences: templates of steps, enrolments, due steps on the board, automatic email once."""

    name = "sdr_desk.sequences"
    label = "sequences"
    verbose_name = "Sequences"
    lead_panels = ["sequences/_lead_panel.html"]
    # The timeline kind this app records, offered to outbound webhooks (sdr_desk/webhooks); ``data.change`` says
    # which: started, step_done, email_sent, paused, resumed, reply / auto_reply / bounce, stopped, completed.
    webhook_events = {"sequence": "A lead's sequence: enrolled, a step done or its email sent, paused, resumed, "
                                  "stopped (with the reason), completed (data.change says which)"}
    schedules = [("Sequence steps due", "sdr_desk.sequences.tasks.steps_due_watch", "I", 1, None)]
    role_permissions = {
        "SDR": ["sequences.view_sequencetemplate", "sequences.view_enrollment", "sequences.add_enrollment"],
        "AE": ["sequences.view_enrollment"],
        "Manager": ["sequences.view_sequencetemplate", "sequences.add_sequencetemplate",
                    "sequences.change_sequencetemplate", "sequences.view_enrollment", "sequences.add_enrollment",
                    "sequences.change_enrollment"],
    }

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from sdr_desk.sequences import receivers  # noqa: F401  hears routing and the timeline
        from sdr_desk.sequences.defaults import templates_ensure

        post_migrate.connect(templates_ensure, sender=self, dispatch_uid="sequences.templates_ensure")
