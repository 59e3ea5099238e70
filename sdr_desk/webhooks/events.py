"""The kinds of event an endpoint may subscribe to: each app offers its own timeline kinds.

An app declares ``webhook_events = {"kind": "what it means"}`` on its AppConfig; the
kind is the ``kind`` of the timeline entries it records. Webhooks imports none of them.
"""

from __future__ import annotations


def webhook_events() -> dict[str, str]:
    """Every subscribable kind with its description, in app order."""
    from django.apps import apps

    events: dict[str, str] = {}
    for config in apps.get_app_configs():
        events.update(getattr(config, "webhook_events", {}))
    return events
