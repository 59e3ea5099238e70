from django.apps import AppConfig


class BoardConfig(AppConfig):
    """The live board: its event log, the cards, the websocket, and the rep's pages."""

    name = "sdr_desk.board"
    label = "board"
    verbose_name = "Live board"

    def ready(self) -> None:
        from sdr_desk.board import receivers  # noqa: F401  listens to routing's assignment changes
