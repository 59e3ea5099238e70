"""One error shape for the whole API: ``{"error": code, "detail": message, "fields": {...}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from inbound.api_parsers import PayloadTooLarge

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable: %s", exc)
        return database_unavailable_response()
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        body = {"error": getattr(data["detail"], "code", code), "detail": str(data["detail"])}
    else:
        body = {"error": "invalid", "detail": "Some fields are not valid.", "fields": data}
    response.data = body
    return response


def database_unavailable_response() -> Response:
    response = Response(
        {"error": "database_unavailable", "detail": "The database is unreachable; nothing was stored. Retry later."},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "30"},
    )
    return response

