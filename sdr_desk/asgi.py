"""ASGI entry point: HTTP through Django, websockets through Channels (origin-checked, signed-in)."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdr_desk.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from sdr_desk.board.websockets import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything imported so far lives as long as the process: take it out of the garbage
# collector's sight, so a full collection (tens of ms with Django loaded) never stalls a
# push or a request, and collect the young generation less often. bench/bench_board.py
# --what-if gc priced this before it landed: p99 at 200 boards 171-183 ms -> 123-130 ms.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 100)
