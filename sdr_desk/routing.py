"""Websocket routes. The live board (a later issue) adds /ws/board/ here."""

websocket_urlpatterns: list = []
