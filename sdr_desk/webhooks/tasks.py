"""Django-Q tasks of webhooks. Each is safe to run twice, and at once on two clusters (sending.py)."""

from __future__ import annotations

from sdr_desk.webhooks import sending


def deliveries_sweep() -> dict[str, int]:
    """Every minute: send what is due (retries, and anything the immediate attempt missed)."""
    return sending.deliveries_sweep()


def deliveries_send(event_ids: list[str]) -> dict[str, int]:
    """Queued after an event commits: its deliveries' first attempt, without waiting for the sweep."""
    return sending.deliveries_send(event_ids=event_ids)
