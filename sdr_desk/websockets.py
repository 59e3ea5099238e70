"""Websocket routes (Channels calls this module "routing"; here routing means leads). The live board adds /ws/board/."""

websocket_urlpatterns: list = []
