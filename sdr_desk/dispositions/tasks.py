"""Django-Q tasks of dispositions. Each looks at the database's state, so a late or doubled run is harmless."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.dispositions.models import Disposition, Outcome
from sdr_desk.dispositions.services import DISPOSITION_KIND
from sdr_desk.routing.engine import lead_route


def nurture_reengage(today: date | None = None, limit: int = 500) -> int:
    """Route again every nurtured lead whose re-engage date has come: back on the desk, clock restarted.

    Each lead in its own short transaction under a row lock taken with SKIP LOCKED, re-checked under
    the lock: two runs at once (or one after a crash) route a lead once. Routing it again makes the
    disposition no longer current (the receiver in ``receivers.py``), so the next run skips it.
    """
    today = today or timezone.localdate()
    due = (Disposition.objects.filter(is_current=True, code__outcome=Outcome.NURTURE, reengage_on__lte=today)
           .order_by("reengage_on", "id").values_list("lead_id", flat=True)[:limit])
    routed = 0
    for lead_id in list(due):
        with transaction.atomic():
            disposition = (Disposition.objects.select_for_update(skip_locked=True)
                           .filter(lead_id=lead_id, is_current=True, reengage_on__lte=today).first())
            if disposition is None:
                continue  # another run has it, or it is back already
            timeline_record(lead=Lead(pk=lead_id), kind=DISPOSITION_KIND, actor_label="desk",
                            summary=f"Re-engage date {disposition.reengage_on:%Y-%m-%d} reached: back from nurture",
                            data={"disposition": disposition.pk, "reengaged": True})
            lead_route(lead_id, reason="back from nurture")
            routed += 1
    return routed
