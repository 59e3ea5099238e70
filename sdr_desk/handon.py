"""Running the desk's hand-on work after the buyer's response is on its way.

Scoring, routing and the board push follow every accepted lead. Inside an HTTP
request they wait until Django has sent the response: the middleware hands the
queued work to the response's closers, which Django calls after the body is
delivered (under ASGI, after the last body message; under WSGI, when the
server closes the response). The system posting a lead gets its 201 as fast as
intake alone can give it. Anywhere else (Django-Q workers, commands, tests
without a request) the work runs at once.

Work deferred here is not durable: if the process dies between the response
and the work, ``handon_sweep`` (a Django-Q schedule) finds the leads that were
never routed and hands them on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.local import Local
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

_state = Local()


class HandOnMiddleware:
    """Marks the request so hand-on work queues up until its response is delivered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        pending: list[Callable[[], Any]] = []
        _state.pending = pending
        try:
            response = self.get_response(request)
        finally:
            _state.pending = None
        if pending:
            # Closers run in response.close(), after the response has been sent.
            response._resource_closers.append(lambda: _run(pending))
        return response


def after_response(work: Callable[[], Any]) -> None:
    """Run ``work`` once the current response is delivered, or now when there is no request."""
    pending = getattr(_state, "pending", None)
    if pending is None:
        work()
    else:
        pending.append(work)


def _run(pending: list[Callable[[], Any]]) -> None:
    for work in pending:
        try:
            work()
        except Exception:  # noqa: BLE001 - each piece of work retries itself; one failure must not stop the rest
            logger.exception("hand-on work after the response failed")
