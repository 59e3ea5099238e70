from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks: the desk's outcome events posted, signed, to the URLs an admin configures (a CRM)."""

    name = "sdr_desk.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    # The sweep retries what the immediate attempt after commit did not deliver (sdr_desk/schedules.py).
    schedules = [("Webhook deliveries", "sdr_desk.webhooks.tasks.deliveries_sweep", "I", 1, None)]
    # Managing endpoints and reading deliveries is for the Admin role (every permission) and superusers only.
    role_permissions: dict[str, list[str]] = {}
    # The kinds it offers are each app's own (``webhook_events`` on their AppConfigs: dispositions, handoff).

    def ready(self) -> None:
        from sdr_desk.webhooks import receivers  # noqa: F401  hears every timeline entry
