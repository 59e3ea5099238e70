"""A fixed-window rate limiter on the database, atomic across processes.

DRF's throttles read a count, then write it back (DRF #8127): two workers can
both read 9 and both let the 10th request through. Here the count is raised
and read back in one upsert, so the database serialises concurrent hits on
the unique (key, window_start) index and every hit sees its own count.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from django.db import connection

from inbound.models import RateLimitBucket

# Pruning is a table scan; doing it on a small share of hits keeps the table
# short without making every request pay for it.
PRUNE_PROBABILITY = 0.01
# Buckets are pruned only when older than this, whatever the caller's window,
# so that a caller with a short window never deletes a long window's live count.
PRUNE_AFTER = timedelta(days=1)


def window_start(window_seconds: int, *, now: float | None = None) -> datetime:
    """The start of the fixed window that ``now`` falls in, aligned on the epoch."""
    now = time.time() if now is None else now
    return datetime.fromtimestamp(int(now // window_seconds) * window_seconds, tz=UTC)


def retry_after(window_seconds: int, *, now: float | None = None) -> int:
    """Seconds until the current window ends: the honest value for a Retry-After header."""
    now = time.time() if now is None else now
    return max(1, window_seconds - int(now % window_seconds))


def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    table, key, start, count = (
        quote(RateLimitBucket._meta.db_table), quote("key"), quote("window_start"), quote("count"),
    )
    # The table-qualified count in SET is the row already stored: PostgreSQL
    # would find a bare "count" ambiguous with excluded.count. Both PostgreSQL
    # and SQLite 3.35+ accept this statement as written.
    return (
        f"INSERT INTO {table} ({key}, {start}, {count}) VALUES (%s, %s, 1) "
        f"ON CONFLICT ({key}, {start}) DO UPDATE SET {count} = {table}.{count} + 1 "
        f"RETURNING {count}"
    )


def rate_limit_count(*, key: str, window_seconds: int, now: float | None = None) -> int:
    """Count one hit for ``key`` in the current window and return the window's count so far."""
    start = connection.ops.adapt_datetimefield_value(window_start(window_seconds, now=now))
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [key, start])
        (count,) = cursor.fetchone()
    return int(count)


def rate_limit_hit(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count a hit and say whether ``key`` is now over ``limit`` hits in this window."""
    count = rate_limit_count(key=key, window_seconds=window_seconds)
    if random.random() < PRUNE_PROBABILITY:
        rate_limit_prune(before=datetime.now(tz=UTC) - max(PRUNE_AFTER, timedelta(seconds=window_seconds)))
    return count > limit


def rate_limit_prune(*, before: datetime) -> int:
    """Delete the buckets of windows that started before ``before``; return how many went."""
    deleted, _ = RateLimitBucket.objects.filter(window_start__lt=before).delete()
    return deleted
