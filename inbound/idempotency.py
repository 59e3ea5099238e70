"""``Idempotency-Key`` as payment APIs define it.

The key's row is inserted in the caller's transaction before the work. A
concurrent request with the same key blocks on the unique index until the
first commits, then finds the stored response and replays it; if the first
rolled back, the second simply does the work.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from inbound.models import ApiKey, IdempotencyKey
from inbound.sql import insert_unless_exists

MAX_KEY_LENGTH = 255


class IdempotencyMismatch(Exception):
    """The key was used before with a different request body."""


def request_fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def idempotency_begin(*, api_key: ApiKey, endpoint: str, key: str, data: Any) -> tuple[IdempotencyKey | None,
                                                                                           IdempotencyKey | None]:
    """(new row to finish, None) for a first use; (None, stored row) for a retry. Call inside a transaction."""
    fingerprint = request_fingerprint(data)
    row = IdempotencyKey(api_key=api_key, endpoint=endpoint, key=key, request_hash=fingerprint)
    # Waits, as a plain insert would, for a concurrent holder of the key; needs no savepoint to survive losing.
    if insert_unless_exists(row, unique=("api_key", "endpoint", "key")):
        return row, None
    stored = IdempotencyKey.objects.get(api_key=api_key, endpoint=endpoint, key=key)
    if stored.request_hash != fingerprint:
        raise IdempotencyMismatch()
    return None, stored


def idempotency_finish(row: IdempotencyKey, *, status: int, body: Any) -> None:
    row.response_status = status
    row.response_body = body
    row.save(update_fields=["response_status", "response_body"])
