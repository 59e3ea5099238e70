from django.apps import AppConfig


class BoardConfig(AppConfig):
    """The live board: its event log, the cards, the websocket, and the rep's pages."""

    name = "sdr_desk.board"
    label = "board"
    verbose_name = "Live board"
    # The board is home for the people who work it (sdr_desk/homes.py): above the project's lead list.
    role_homes = {"SDR": ("board", 10), "Manager": ("board", 10)}

    def ready(self) -> None:
        from sdr_desk.board import receivers  # noqa: F401  listens to routing's assignment changes
