from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "inbound"
    verbose_name = "Intake"

    def ready(self) -> None:
        from inbound import schema  # noqa: F401  registers the API key's OpenAPI scheme
