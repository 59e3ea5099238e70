"""A small desk whose every report figure can be worked out by hand.

Rows are written directly with exact instants (not through the services), so each test can say what the
figure must be; ``test_rollups`` checks, through the real services, that the facts follow the raw rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from inbound.models import Activity, Lead
from sdr_desk.dispositions.models import Disposition, DispositionCode
from sdr_desk.handoff.models import Handoff, MeetingStatus
from sdr_desk.roles import Role
from sdr_desk.routing.models import LeadAssignment, LeadState, Rep, RepRole, Team, Touch
from tests.factories import LeadFactory, SourceFactory, UserFactory

WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
ET = "America/New_York"

# Monday 2 November 2026 (New York is on EST, UTC-5, since 1 November).
MON_10 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Desk:
    team: Team
    other_team: Team
    manager: object
    other_manager: object
    ann: object
    bob: object
    cat: object
    ae: object
    marketing: object
    web: object
    g2: object
    leads: dict[str, Lead] = field(default_factory=dict)


def desk_make() -> Desk:
    manager = UserFactory(username="priya", first_name="Priya", roles=[Role.MANAGER])
    other_manager = UserFactory(username="otto", first_name="Otto", roles=[Role.MANAGER])
    team = Team.objects.create(name="Americas", is_default=True, time_zone=ET, business_hours=WEEKDAYS_9_TO_5,
                               manager=manager, sla_hand_raiser_seconds=300, sla_researcher_seconds=3600)
    other = Team.objects.create(name="EMEA", time_zone="Europe/London", business_hours=WEEKDAYS_9_TO_5,
                                manager=other_manager)
    reps = []
    for name, the_team in (("ann", team), ("bob", team), ("cat", other)):
        user = UserFactory(username=name, first_name=name.title(), roles=[Role.SDR])
        Rep.objects.create(user=user, team=the_team, role=RepRole.SDR)
        reps.append(user)
    ae = UserFactory(username="alex", first_name="Alex", roles=[Role.AE])
    return Desk(team=team, other_team=other, manager=manager, other_manager=other_manager, ann=reps[0],
                bob=reps[1], cat=reps[2], ae=ae, marketing=UserFactory(username="mia", roles=[Role.MARKETING]),
                web=SourceFactory(name="Website", channel="web_form"),
                g2=SourceFactory(name="G2 Reviews", channel="review_site"))


def lead_arrive(desk: Desk, key: str, *, arrived: datetime, team: Team | None = None, owner=None,
                tier: str = "hand_raiser", offered_after: float = 0, touch_after: float | None = None,
                business: float | None = None, source=None, campaign: str = "", touches: list[tuple[float, str, str]]
                | None = None, escalated: bool = False) -> Lead:
    """A routed lead: arrival, offer ``offered_after`` seconds later, first touch ``touch_after`` seconds after
    arrival (None: never) with ``business`` business seconds as the desk's clock gave them; more touches as
    (seconds after arrival, channel, outcome)."""
    team = team or desk.team
    lead = LeadFactory(email=f"{key}@{key}.example", source=source or desk.web, campaign=campaign, created_at=arrived)
    first_touch = arrived + timedelta(seconds=touch_after) if touch_after is not None else None
    LeadAssignment.objects.create(
        lead=lead, team=team, owner=owner, tier=tier, state=LeadState.WORKING if first_touch else LeadState.ASSIGNED,
        sla_started_at=arrived, routed_at=arrived + timedelta(seconds=offered_after), owned_since=arrived,
        first_touch_at=first_touch, response_seconds=touch_after, response_business_seconds=business,
        escalation_level=1 if escalated else 0)
    all_touches = ([(touch_after, "call", "no_answer")] if touch_after is not None else []) + (touches or [])
    for i, (after, channel, outcome) in enumerate(sorted(all_touches, key=lambda t: t[0])):
        Touch.objects.create(lead=lead, rep=owner, channel=channel, outcome=outcome, is_first=i == 0,
                             occurred_at=arrived + timedelta(seconds=after))
    Activity.objects.create(lead=lead, type="form_submit", form_type="demo_request", occurred_at=arrived,
                            source=source or desk.web, attribution={"campaign": campaign} if campaign else {})
    desk.leads[key] = lead
    return lead


def disposition_give(lead: Lead, slug: str, *, rep, team: Team, reason: str = "", at: datetime) -> Disposition:
    return Disposition.objects.create(lead=lead, code=DispositionCode.objects.get(slug=slug), reason=reason,
                                      rep=rep, team=team, recorded_by=rep, recorded_at=at)


def handoff_give(lead: Lead, *, sdr, ae, status: str, reason: str = "", meeting: str = MeetingStatus.NONE,
                 at: datetime) -> Handoff:
    return Handoff.objects.create(lead=lead, sdr=sdr, ae=ae, status=status, verdict_reason=reason,
                                  meeting_status=meeting, ics_uid=f"handoff-{uuid.uuid4()}@desk.test",
                                  handed_at=at, routed_by="by hand")
