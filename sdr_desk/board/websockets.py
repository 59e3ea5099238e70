"""Websocket routes (Channels calls this module "routing"; here routing means leads)."""

from django.urls import path

from sdr_desk.board.consumers import BoardConsumer

websocket_urlpatterns = [path("ws/board/", BoardConsumer.as_asgi())]
