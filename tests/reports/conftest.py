from __future__ import annotations

from datetime import timedelta

import pytest

from inbound.models import Activity
from sdr_desk.handoff.models import HandoffStatus, MeetingStatus
from sdr_desk.reports.rollups import facts_refresh
from tests.reports.fixtures import MON_10, desk_make, disposition_give, handoff_give, lead_arrive, utc

H = 3600


@pytest.fixture
def desk(db):
    """Six Americas leads worked out by hand (see each line) and one EMEA lead; facts rebuilt."""
    desk = desk_make()
    ann, bob = desk.ann, desk.bob
    # a1: Monday 10:00 New York, first touch after 3 min, a connected call an hour on; qualified, accepted, held.
    a1 = lead_arrive(desk, "a1", arrived=MON_10, owner=ann, touch_after=180, business=180, campaign="spring",
                     touches=[(H, "call", "connected")])
    Activity.objects.create(lead=a1, type="form_submit", form_type="pricing", occurred_at=MON_10 + timedelta(days=1),
                            source=desk.g2, attribution={"utm_campaign": "retarget"})
    disposition_give(a1, "qualified-meeting-set", rep=ann, team=desk.team, at=MON_10 + timedelta(hours=2))
    handoff_give(a1, sdr=ann, ae=desk.ae, status=HandoffStatus.ACCEPTED, meeting=MeetingStatus.HELD,
                 at=MON_10 + timedelta(hours=2))
    # a2: 11:00, touched after 10 min (SLA of 5 min missed); bad fit, too small.
    a2 = lead_arrive(desk, "a2", arrived=MON_10 + timedelta(hours=1), owner=ann, touch_after=600, business=600,
                     campaign="spring")
    disposition_give(a2, "bad-fit", rep=ann, team=desk.team, reason="Too small", at=MON_10 + timedelta(hours=3))
    # a3: Friday 16:00 from G2, touched Monday 10:00 (66 h wall, 2 business hours), escalated; the AE rejected it.
    a3 = lead_arrive(desk, "a3", arrived=utc(2026, 11, 6, 21, 0), owner=ann, touch_after=66 * H, business=2 * H,
                     source=desk.g2, escalated=True)
    disposition_give(a3, "qualified-handed-to-ae", rep=ann, team=desk.team, at=utc(2026, 11, 9, 16, 0))
    handoff_give(a3, sdr=ann, ae=desk.ae, status=HandoffStatus.REJECTED, reason="Bad timing",
                 at=utc(2026, 11, 9, 16, 0))
    # a4: Saturday 12:00 (after hours), a researcher, offered Monday 09:00, touched 09:30.
    lead_arrive(desk, "a4", arrived=utc(2026, 11, 7, 17, 0), owner=ann, tier="researcher", offered_after=45 * H,
                touch_after=45 * H + 1800, business=1800)
    # a5: 12:00, bob's, never touched.
    lead_arrive(desk, "a5", arrived=MON_10 + timedelta(hours=2), owner=bob)
    # a6: 13:00, bob's, touched after 3 min: a tie with a1.
    lead_arrive(desk, "a6", arrived=MON_10 + timedelta(hours=3), owner=bob, touch_after=180, business=180)
    # c1: EMEA, cat's.
    lead_arrive(desk, "c1", arrived=MON_10, team=desk.other_team, owner=desk.cat, touch_after=60, business=60)
    facts_refresh(full=True)
    return desk
