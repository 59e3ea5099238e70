"""``manage.py seed_demo``: a desk with people, sources, forms and a month of inbound leads, worked.

Safe to run again: everything is found or created by its natural key, and a
demo lead whose email is already on the desk is skipped whole, so the same
``--seed`` adds nothing the second time and another seed adds other leads.

Leads are made through intake's own services, one submission at a time, so
the demo exercises dedupe, accounts, visitor stitching and the timeline
exactly as live traffic does; only the clock is turned back (see
``_step_send``). The desk's side is replayed the same way (see ``MonthReplay``):
every submission is scored and routed at the moment it arrived, reps claim
and touch leads after realistic delays, and the SLA watch escalates what they
missed, all through the desk's services and each with its own past clock, so
the board opens on a desk that has been worked for a month, not on 300 leads
whose five-minute clocks all start now.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AbstractUser, Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import F, Min, OuterRef, Q, Subquery
from django.dispatch import Signal
from django.utils import timezone

from inbound import demo_data
from inbound.demo_data import Step, Story
from inbound.models import (
    Account,
    Activity,
    ApiKey,
    HostedForm,
    Lead,
    Source,
    Submission,
    SubmissionChannel,
    SubmissionKind,
    TimelineEntry,
)
from inbound.services import Outcome, submission_process, submission_receive
from inbound.signals import leads_batch_processed, submission_processed
from scoring.services import lead_rescore
from sdr_desk.dispositions.services import lead_disposition
from sdr_desk.env import envint
from sdr_desk.roles import Role
from sdr_desk.routing import receivers
from sdr_desk.routing.engine import eligibility, lead_hand_on_route
from sdr_desk.routing.models import (
    CallOutcome,
    LeadAssignment,
    LeadState,
    Rep,
    RepRole,
    RepStatus,
    RoutingRule,
    Team,
    TouchChannel,
    Visibility,
)
from sdr_desk.routing.ownership import OwnershipError, lead_claim, may_claim
from sdr_desk.routing.sla import sla_sweep
from sdr_desk.routing.touches import lead_next_step_set, touch_log

DEMO_PASSWORD = "demo"
DEFAULT_PORT = 8000


def sign_in_hint() -> str:
    """Where to sign in: the port bin/demo serves on (``PORT``), so the printed address is the real one."""
    port = envint("PORT", DEFAULT_PORT, minimum=1)
    return f"Sign in at http://127.0.0.1:{port}/ as sdr1 / demo (or manager, marketing, ae1, admin)"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    is_staff: bool = False
    is_superuser: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Dana", "Whitfield", Role.ADMIN, is_staff=True, is_superuser=True),
    DemoUser("manager", "Priya", "Raman", Role.MANAGER, is_staff=True),  # staff: team settings live in the admin
    DemoUser("sdr1", "Jordan", "Ellis", Role.SDR),
    DemoUser("sdr2", "Maya", "Chen", Role.SDR),
    DemoUser("sdr3", "Oliver", "Hughes", Role.SDR),
    DemoUser("ae1", "Marcus", "Reid", Role.AE),
    DemoUser("marketing", "Sofia", "Alvarez", Role.MARKETING),
)


@dataclass(frozen=True)
class DemoTeam:
    name: str
    time_zone: str
    members: tuple[str, ...]
    visibility: str
    is_default: bool = False
    manager: str = "manager"


# One claim-mode and one owned-mode team, so both can be seen at once.
DEMO_TEAMS: tuple[DemoTeam, ...] = (
    DemoTeam("Americas Inbound", "America/New_York", ("sdr1", "sdr2"), Visibility.CLAIM, is_default=True),
    DemoTeam("EMEA Inbound", "Europe/London", ("sdr3",), Visibility.OWNED),
)
# Open hot leads a demo rep may hold (the model's default is 5). bin/demo's simulator starts about 0.4 hot
# clocks per send (measured: 160 in 400 sends), 0.4 a minute at its default RATE of 1: one every ~4 min for
# the Americas team's two reps, one every ~6.5 min for EMEA's one rep. Leads stay in a rep's load until dispositioned, and an
# unattended owned rep collects the hot researchers (24 h SLA) at ~3 an hour: 20 keeps them all routable
# for hours, where 5 filled every rep within minutes and sent the rest to the team queue.
DEMO_REP_CAPACITY = 20
# A demo desk is open around the clock, so it moves whenever someone looks at it.
DEMO_HOURS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
# Leads of the last hours are routed on today's clock and left unworked, so the demo opens with
# fresh hot leads on the board whose SLA clocks are running; everything older has been worked.
FRESH_HOURS = 2.0

# Hosted forms on the Website source. Field lists follow HostedForm.FIELD_CHOICES.
DEMO_FORMS: tuple[dict[str, Any], ...] = (
    {
        "slug": "demo", "name": "Book a demo", "title": "See the SDR desk in 20 minutes",
        "form_type": "demo_request", "asset": "",
        "fields": ["first_name", "last_name", "company", "job_title", "phone", "country"],
        "required_fields": ["first_name", "company"], "progressive_fields": [],
        "submit_label": "Book my demo",
    },
    {
        "slug": "ebook-revops", "name": "Ebook: State of RevOps 2026", "title": "Get the State of RevOps 2026 report",
        "form_type": "content_download", "asset": "State of RevOps 2026",
        "fields": ["first_name", "last_name", "company", "country"],
        "required_fields": ["first_name"], "progressive_fields": ["job_title", "employee_count"],
        "submit_label": "Download the report",
    },
    {
        "slug": "webinar", "name": "Webinar registration", "title": "Live: building a 5-minute speed-to-lead motion",
        "form_type": "webinar", "asset": "Webinar: Building a 5-minute speed-to-lead motion",
        "fields": ["first_name", "last_name", "company", "job_title"],
        "required_fields": ["first_name"], "progressive_fields": [],
        "submit_label": "Save my seat",
    },
    {
        "slug": "newsletter", "name": "Newsletter: The Inbound Weekly", "title": "Get The Inbound Weekly",
        "form_type": "newsletter", "asset": "The Inbound Weekly",
        "fields": [], "required_fields": [], "progressive_fields": [],
        "submit_label": "Subscribe",
    },
)
# What a hosted form's embedding page fills in, never typed by the visitor.
FORM_HIDDEN_FIELDS = (
    "page_url", "referrer", "landing_page", "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term",
    "utm_content", "visitor_id",
)


class Command(BaseCommand):
    help = "Create demo users (DEBUG only), teams, sources with API keys, hosted forms and a month of leads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=300, help="how many demo leads to make (default 300)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed: the same seed makes the same leads")
        parser.add_argument("--fresh-hours", type=float, default=FRESH_HOURS, dest="fresh_hours",
                            help=f"leads of the last N hours are routed now and left unworked, for the demo "
                                 f"(default {FRESH_HOURS:g})")

    def handle(self, *args: Any, leads: int, seed: int, fresh_hours: float = FRESH_HOURS, **options: Any) -> None:
        if leads < 0:
            raise CommandError("--leads cannot be negative.")
        if fresh_hours < 0:
            raise CommandError("--fresh-hours cannot be negative.")
        started = time.monotonic()
        users: dict[str, AbstractUser] = {}
        if settings.DEBUG:
            users = self._users_seed()
        else:
            self.stderr.write(self.style.WARNING(
                "DEBUG is off: demo users (password 'demo') are not created. Teams are made without members."
            ))
        self._teams_seed(users)
        sources = self._sources_seed()
        forms = self._forms_seed(sources["Website"])
        made, skipped, desk = self._leads_seed(leads, seed=seed, sources=sources, forms=forms,
                                               fresh=timedelta(hours=fresh_hours))
        self._report(made=made, skipped=skipped, desk=desk, seconds=time.monotonic() - started)
        if settings.DEBUG:
            self.stdout.write(self.style.SUCCESS(sign_in_hint()))

    # --- people -------------------------------------------------------------------------------

    def _users_seed(self) -> dict[str, AbstractUser]:
        users = {}
        for spec in DEMO_USERS:
            users[spec.username] = self._user_seed(spec)
        self.stdout.write(f"Users: {', '.join(users)} (password {DEMO_PASSWORD!r})")
        return users

    def _user_seed(self, spec: DemoUser) -> AbstractUser:
        try:
            group = Group.objects.get(name=spec.role)
        except Group.DoesNotExist:
            raise CommandError(f"Role group {spec.role!r} is missing: run manage.py migrate first.") from None
        user, created = get_user_model().objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name, "last_name": spec.last_name,
                "email": f"{spec.username}@desk.example.com", "is_staff": spec.is_staff,
                "is_superuser": spec.is_superuser,
            },
        )
        if created:
            # Only on creation: a password someone changed on a demo desk stays theirs.
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(group)
        return user

    def _teams_seed(self, users: dict[str, AbstractUser]) -> None:
        for spec in DEMO_TEAMS:
            team, _ = Team.objects.get_or_create(
                name=spec.name,
                # A demo runs unattended: nobody works the simulator's leads, so a real
                # streak limit would set every rep away within minutes of starting.
                defaults={"time_zone": spec.time_zone, "visibility": spec.visibility, "is_default": spec.is_default,
                          "business_hours": DEMO_HOURS, "escalation_streak_limit": 1000},
            )
            if users:
                team.manager = users[spec.manager]
                team.save(update_fields=["manager"])
                for name in spec.members:
                    Rep.objects.update_or_create(
                        user=users[name],
                        defaults={"team": team, "role": RepRole.SDR, "time_zone": spec.time_zone,
                                  "working_hours": DEMO_HOURS, "status": RepStatus.AVAILABLE,
                                  "capacity": DEMO_REP_CAPACITY},
                    )
        emea = Team.objects.get(name="EMEA Inbound")
        # Leads from Europe, the Middle East and Africa go to the owned-mode team, so both modes move.
        RoutingRule.objects.get_or_create(name="EMEA to EMEA Inbound",
                                          defaults={"countries": ["EMEA"], "target_team": emea, "position": 10})
        if users:
            Rep.objects.get_or_create(user=users["manager"], defaults={"role": RepRole.MANAGER})
            # The AEs' team takes every handoff (no territory); its manager hears about overdue ones.
            from sdr_desk.handoff.models import HandoffSettings

            ae_team, _ = Team.objects.get_or_create(
                name="Account Executives", defaults={"time_zone": "America/New_York", "visibility": Visibility.OWNED,
                                                     "business_hours": DEMO_HOURS, "manager": users["manager"]})
            HandoffSettings.objects.get_or_create(team=ae_team, defaults={"acceptance_sla_hours": 24})
            Rep.objects.update_or_create(user=users["ae1"], defaults={"role": RepRole.AE, "team": ae_team,
                                                                      "time_zone": "America/New_York",
                                                                      "working_hours": DEMO_HOURS})
        self.stdout.write(f"Teams: {', '.join(f'{spec.name} ({spec.visibility})' for spec in DEMO_TEAMS)}")

    # --- intake configuration -------------------------------------------------------------------

    def _sources_seed(self) -> dict[str, Source]:
        sources = {}
        for name, channel in demo_data.SOURCES.items():
            source, _ = Source.objects.get_or_create(name=name, defaults={"channel": channel})
            sources[name] = source
            if source.api_keys.filter(revoked_at__isnull=True).exists():
                self.stdout.write(f"Source {name}: has an API key (only its hash is kept; "
                                  f"make another with create_api_key)")
                continue
            _, raw = ApiKey.generate(source=source, name="seed_demo")
            self.stdout.write(f"Source {name}: API key {raw}")
        return sources

    def _forms_seed(self, source: Source) -> dict[str, HostedForm]:
        forms = {}
        for spec in DEMO_FORMS:
            form = HostedForm.objects.filter(slug=spec["slug"]).first() or HostedForm(slug=spec["slug"])
            for name, value in spec.items():
                setattr(form, name, value)
            form.source = source
            form.full_clean()
            form.save()
            forms[form.slug] = form
        self.stdout.write(f"Hosted forms: {', '.join(f'/f/{slug}/' for slug in forms)}")
        return forms

    # --- leads ------------------------------------------------------------------------------------

    def _leads_seed(self, count: int, *, seed: int, sources: dict[str, Source], forms: dict[str, HostedForm],
                    fresh: timedelta) -> tuple[int, int, DeskCounts]:
        desk = DeskCounts(fresh_hours=fresh.total_seconds() / 3600)
        if not count:
            return 0, 0, desk
        now = timezone.now()
        stories = demo_data.stories_plan(random.Random(seed), count=count, now=now)
        existing = set(Lead.objects.filter(email__in=[s.email for s in stories]).values_list("email", flat=True))
        new = [story for story in stories if story.email not in existing]
        if not new:
            return 0, len(existing), desk
        keys = {name: self._source_key(source) for name, source in sources.items()}

        def send(step: Step) -> Outcome:
            return _step_send(step, source=sources[step.source], key=keys[step.source], forms=forms)

        replay = MonthReplay(seed=seed, until=now, fresh_from=now - fresh, counts=desk)
        # One transaction for the whole month: stories are interleaved in time, so a failure must
        # leave no half-told story behind, and the next run starts clean (it skips only whole leads).
        with desk_hand_on_paused(), transaction.atomic():
            replay.run(new, send=send)
            _accounts_backdate()
            desk.next_steps = _next_steps_plan(random.Random(f"{seed}:next-steps"), now=now)
        return len(new), len(existing), desk

    @staticmethod
    def _source_key(source: Source) -> ApiKey:
        key = source.api_keys.filter(revoked_at__isnull=True).order_by("created_at").first()
        assert key is not None, "_sources_seed gives every source a key"
        return key

    def _report(self, *, made: int, skipped: int, desk: DeskCounts, seconds: float) -> None:
        counts = {
            "leads": Lead.objects.count(),
            "accounts": Account.objects.count(),
            "submissions": Submission.objects.count(),
            "activities": Activity.objects.count(),
            "timeline entries": TimelineEntry.objects.count(),
        }
        skipped_note = f", {skipped} already there" if skipped else ""
        self.stdout.write(f"Demo leads: {made} made{skipped_note} in {seconds:.1f}s. On the desk now: "
                          + ", ".join(f"{count} {name}" for name, count in counts.items()))
        if made:
            self.stdout.write(desk.summary())


def _step_send(step: Step, *, source: Source, key: ApiKey, forms: dict[str, HostedForm]) -> Outcome:
    """Send one step through intake, as if it had arrived at ``step.at``.

    Demo seeding only: intake stamps times with "now", so the submission is
    received, its time turned back *before* processing (activities and the
    timeline take the submission's time), and afterwards the lead's own
    timestamps, which the service sets to now, are turned back the same way.
    Intake does not announce it: the desk's hand-on would run on today's clock,
    so ``MonthReplay`` does the hand-on itself, at ``step.at``.
    """
    form = _hosted_form_for(step, forms)
    kind = SubmissionKind.LEAD if step.kind == "lead" else SubmissionKind.EVENT
    receive: dict[str, Any] = {"source": source, "channel": SubmissionChannel.API, "api_key": key,
                               "payload": step.payload}
    if form is not None:
        receive = {"source": form.source, "channel": SubmissionChannel.FORM, "hosted_form": form,
                   "payload": _form_payload(form, step.payload, repeat=step.repeat)}
    submission = submission_receive(kind=kind, remote_addr=step.remote_addr or None, user_agent=step.user_agent,
                                    **receive)
    submission.received_at = step.at
    submission.save(update_fields=["received_at"])
    outcome = submission_process(submission, announce=False)
    if not outcome.ok:
        # The generator promises valid payloads (tests check 500 of them): stop loudly.
        raise CommandError(f"Demo submission {submission.pk} was {submission.status}: {submission.error}")
    Submission.objects.filter(pk=submission.pk).update(processed_at=step.at)
    if kind == SubmissionKind.LEAD and outcome.lead is not None:
        backdated: dict[str, Any] = {"updated_at": step.at, "last_converted_at": step.at}
        if outcome.created:
            backdated["created_at"] = step.at
        Lead.objects.filter(pk=outcome.lead.pk).update(**backdated)
    return outcome


def _hosted_form_for(step: Step, forms: dict[str, HostedForm]) -> HostedForm | None:
    """The hosted form a Website conversion came through, when one of ours asks for it."""
    if step.kind != "lead" or step.source != "Website":
        return None
    for form in forms.values():
        if form.form_type == step.payload.get("form_type") and form.asset in ("", step.payload.get("asset")):
            return form
    return None


def _form_payload(form: HostedForm, payload: dict[str, Any], *, repeat: bool) -> dict[str, Any]:
    """What the hosted form would have posted: only the fields it asks, as text, plus its hidden fields.

    A returning visitor is asked the progressive fields instead (a simplification
    of the form's "unknown fields first" rule, good enough for demo data).
    """
    asked = form.progressive_fields if repeat else form.fields
    posted: dict[str, Any] = {"email": payload["email"]}
    posted |= {name: str(payload[name]) for name in asked if payload.get(name) not in (None, "")}
    if form.ask_consent:
        posted["consent"] = bool(payload.get("consent"))
    posted["form_type"] = form.form_type
    if form.asset:
        posted["asset"] = form.asset
    posted |= {name: payload[name] for name in FORM_HIDDEN_FIELDS if payload.get(name)}
    return posted


def _accounts_backdate() -> None:
    """Demo seeding only: an account is as old as its first lead, not as the seeding run."""
    first_lead = Lead.objects.filter(account=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
    younger = Lead.objects.filter(created_at__lt=F("account__created_at")).values("account_id")
    Account.objects.filter(pk__in=younger).update(created_at=Subquery(first_lead))


# --- the month on the desk --------------------------------------------------------------------------

# The desk's live hand-on (sdr_desk.routing.receivers): scored and routed on today's clock.
_HAND_ON_RECEIVERS: tuple[tuple[Signal, str, Callable[..., None]], ...] = (
    (submission_processed, "sdr_desk.lead_hand_on", receivers.lead_hand_on),
    (leads_batch_processed, "sdr_desk.leads_batch_hand_on", receivers.leads_batch_hand_on),
)


@contextmanager
def desk_hand_on_paused() -> Iterator[None]:
    """Disconnect the desk's hand-on receivers while history is written, and always put them back.

    They score and route with the real clock, which gives a month-old demo lead
    a five-minute deadline starting now. ``_step_send`` already asks intake not
    to announce; this also covers anything else that announces while the past
    is replayed. Only receivers that were connected are reconnected, so a caller
    that had switched them off keeps them off.
    """
    paused = [(signal, uid, receiver) for signal, uid, receiver in _HAND_ON_RECEIVERS
              if signal.disconnect(dispatch_uid=uid)]
    try:
        yield
    finally:
        for signal, uid, receiver in paused:
            signal.connect(receiver, dispatch_uid=uid)


# How reps answer a clock that started. Per SLA tier, the buckets of first-touch delay as
# (share, median seconds, spread of a lognormal); the share left over is never answered.
FIRST_TOUCH_DELAYS: dict[str, tuple[tuple[float, float, float], ...]] = {
    # A 5-minute SLA: most inside it, some after half an hour, a few hours later, about 1 in 25 never.
    "hand_raiser": ((0.74, 110, 0.55), (0.15, 25 * 60, 0.6), (0.07, 2 * 3600, 0.5)),
    # A 24-hour SLA: mostly within hours, some the next day, about 1 in 25 never.
    "researcher": ((0.90, 3 * 3600, 1.0), (0.06, 30 * 3600, 0.25)),
    # No SLA: worked when there is time, if at all.
    "none": ((0.35, 20 * 3600, 0.8),),
}
SLA_TIERS = ("hand_raiser", "researcher")
FIRST_CHANNELS: dict[str, tuple[tuple[str, int], ...]] = {
    "hand_raiser": ((TouchChannel.CALL, 65), (TouchChannel.EMAIL, 25), (TouchChannel.LINKEDIN, 10)),
    "researcher": ((TouchChannel.EMAIL, 55), (TouchChannel.LINKEDIN, 25), (TouchChannel.CALL, 20)),
    "none": ((TouchChannel.EMAIL, 60), (TouchChannel.LINKEDIN, 25), (TouchChannel.CALL, 15)),
}
FOLLOW_UP_CHANNELS = ((TouchChannel.EMAIL, 45), (TouchChannel.CALL, 40), (TouchChannel.LINKEDIN, 15))
CALL_OUTCOMES = ((CallOutcome.CONNECTED, 30), (CallOutcome.VOICEMAIL, 40), (CallOutcome.NO_ANSWER, 30))
# What reps write, by (channel, call outcome); {first}, {company} and {topic} come from the lead.
TOUCH_NOTES: dict[tuple[str, str], tuple[str, ...]] = {
    (TouchChannel.CALL, CallOutcome.CONNECTED): (
        "Connected with {first}. Evaluating routing tools this quarter; booked discovery with the AE.",
        "Good call: {company} answers inbound in hours today and wants minutes. Demo set for Thursday.",
        "Reached {first}. Early research after {topic}; sent a case study, follow up next week.",
        "Spoke briefly, {first} was between meetings. Calling back tomorrow morning.",
    ),
    (TouchChannel.CALL, CallOutcome.VOICEMAIL): (
        "Left a voicemail about {topic}; email follow-up on its way.",
        "VM left, mentioned {topic}. Will try again this afternoon.",
        "Voicemail. Trying the mobile number next.",
    ),
    (TouchChannel.CALL, CallOutcome.NO_ANSWER): (
        "No answer and no voicemail box. Switching to email.",
        "Rang twice, no pickup. Retry after lunch.",
    ),
    (TouchChannel.EMAIL, ""): (
        "Short note about {topic} with two times for a call.",
        "Emailed a recap of {topic} and the speed-to-lead benchmark.",
        "Personal email re {topic}; asked who owns inbound at {company}.",
    ),
    (TouchChannel.LINKEDIN, ""): (
        "Connection request with a note about {topic}.",
        "InMail: asked whether {company} is still looking at lead routing.",
    ),
}
_AE = next(user for user in DEMO_USERS if user.role == Role.AE)
# How worked leads end: (disposition code, reason, note), weight. Codes are the defaults the dispositions app ships.
_AE_NAME = f"{_AE.first_name} {_AE.last_name}"
# What a rep notes on a qualifying call, by checklist item (sdr_desk/qualification/defaults.py).
DEMO_ANSWERS = {
    "role": "Head of Sales; decides on tooling with the CRO",
    "pain": "Inbound demo requests wait hours for a first call; reps cherry-pick",
    "current_solution": "Round robin in the CRM plus a shared inbox",
    "timeline": "Wants a tool live before next quarter's campaign",
    "budget": "Budget approved for this half; security review needed",
    "decision_process": "Head of Sales, RevOps lead and IT security sign off",
    "why_now": "Downloaded the speed-to-lead guide after a missed-quota quarter",
}
CLOSE_REASONS_CONNECTED = ((("qualified-meeting-set", "", f"Discovery call booked with {_AE_NAME} (AE)"), 5),
                           (("not-ready-nurture", "Timing: next quarter or later", "Revisit next quarter"), 2),
                           (("bad-fit", "Too small", "Too small for the product"), 1))
CLOSE_REASONS_UNREACHED = ((("no-response", "Sequence ended without a reply",
                             "No reply after follow-ups: back to marketing nurture"), 6),
                           (("qualified-meeting-set", "", f"Qualified over email: demo booked with {_AE_NAME} (AE)"), 2),
                           (("not-ready-nurture", "No budget this year", "No budget this year"), 1))
NURTURE_DAYS = 90
# How the AE answers a handoff (80% accepted) and how its meeting goes.
HANDOFF_REJECTIONS = ("Bad timing", "Wrong territory", "Not qualified: no budget", "Already a customer/open opportunity")
MEETING_OUTCOMES_PLAN = (("held", 7), ("no_show", 2), ("rescheduled", 1))
T = TypeVar("T")
_TOPICS = {"demo_request": "the demo request", "pricing": "the pricing question", "trial_signup": "the trial",
           "webinar": "the webinar", "newsletter": "the newsletter", "contact": "the contact form"}


@dataclass(frozen=True)
class TouchPlan:
    after: timedelta  # after the first touch: zero for the first one
    channel: str
    outcome: str
    note: str  # a TOUCH_NOTES template


@dataclass(frozen=True)
class WorkPlan:
    """How one started clock is answered, drawn from the seed before it happens, so a seed replays one month."""

    first_touch_after: timedelta | None  # from the clock's start; None: nobody ever answers
    claim_ahead: timedelta  # an unowned lead is claimed this long before its first touch
    claimant_pick: float  # which of the reps who may claim it does, in [0, 1)
    touches: tuple[TouchPlan, ...] = ()
    close_after: timedelta | None = None  # after the last touch; None: the lead stays open
    close_reason: tuple[str, str, str] = ("", "", "")  # disposition code, reason, note


def work_plan(rng: random.Random, *, tier: str, owned: bool, hot: bool) -> WorkPlan:
    """Delays, channels, notes and outcome for a clock in ``tier``; pure: everything comes from ``rng``."""
    if tier not in SLA_TIERS:
        # A hot lead is worked even without an SLA (as a researcher would be): left alone in its owner's
        # hands it would hold one of their few open hot slots for the rest of the month.
        tier = "researcher" if hot else "none"
    delays = FIRST_TOUCH_DELAYS[tier]
    # An owner who never answers piles up escalations in a row, and the desk sets them away (routing then
    # skips them in the live demo too), or holds a hot slot; the handful nobody answers were never claimed.
    may_lapse = not (owned and (hot or tier in SLA_TIERS))
    roll = rng.random() * (1.0 if may_lapse else sum(share for share, _, _ in delays))
    first: timedelta | None = None
    for share, median, spread in delays:
        if roll < share:
            first = timedelta(seconds=max(rng.lognormvariate(math.log(median), spread), 25.0))
            break
        roll -= share
    claim_ahead = timedelta(seconds=rng.uniform(10, 100))  # inside the team's 3-minute claim window
    pick = rng.random()
    if first is None:
        return WorkPlan(None, claim_ahead, pick)
    touches = [_touch_plan(rng, timedelta(0), FIRST_CHANNELS[tier])]
    after = timedelta(0)
    for _ in range(rng.choices((0, 1, 2, 3), weights=(30, 40, 22, 8))[0]):
        after += timedelta(seconds=rng.lognormvariate(math.log(5 * 3600), 0.7))
        touches.append(_touch_plan(rng, after, FOLLOW_UP_CHANNELS))
    connected = any(touch.outcome == CallOutcome.CONNECTED for touch in touches)
    reason = _weighted(rng, CLOSE_REASONS_CONNECTED if connected else CLOSE_REASONS_UNREACHED)
    # A hot lead is always dispositioned within a day or two: routing offers hot leads only to reps under
    # their capacity of open hot leads, and a month of never-closed leads would leave every rep full.
    closes = hot or rng.random() < 0.6
    close_after = timedelta(seconds=rng.lognormvariate(math.log(3 * 3600), 0.8)) if closes else None
    return WorkPlan(first, claim_ahead, pick, tuple(touches), close_after, reason)


def _touch_plan(rng: random.Random, after: timedelta, channels: tuple[tuple[str, int], ...]) -> TouchPlan:
    channel = _weighted(rng, channels)
    outcome = _weighted(rng, CALL_OUTCOMES) if channel == TouchChannel.CALL else ""
    return TouchPlan(after, channel, outcome, rng.choice(TOUCH_NOTES[(channel, outcome)]))


def _weighted(rng: random.Random, options: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([value for value, _ in options], weights=[weight for _, weight in options])[0]


def touch_note(template: str, *, first_name: str, company: str, form_type: str, asset: str) -> str:
    topic = _TOPICS.get(form_type, "their visit")
    if form_type == "content_download":
        topic = f"the {asset} download" if asset else "the download"
    return template.format(first=first_name.strip() or "the lead", company=company.strip() or "their company",
                           topic=topic)


@dataclass
class DeskCounts:
    """What the replay did, for the command's report."""

    clocks: int = 0
    claimed: int = 0
    first_touches: int = 0
    follow_ups: int = 0
    closed: int = 0
    warned: int = 0
    escalated: int = 0
    released: int = 0
    fresh: int = 0
    next_steps: int = 0
    handoffs: int = 0
    fresh_hours: float = FRESH_HOURS
    hand_raiser_response: list[float] = field(default_factory=list)

    def summary(self) -> str:
        median = ""
        if self.hand_raiser_response:
            typical = _duration(statistics.median(self.hand_raiser_response))
            median = f"; hand-raisers first touched after a median {typical}"
        return (f"Desk history: {self.clocks} SLA clocks started, {self.claimed} claims, {self.first_touches} first "
                f"touches and {self.follow_ups} follow-ups, {self.warned} SLA warnings, {self.escalated} "
                f"escalations, {self.closed} leads closed, {self.handoffs} handed to the AE{median}; "
                f"{self.next_steps} next steps planned. "
                f"Left for the demo, routed just now: "
                f"{self.fresh} new lead{'' if self.fresh == 1 else 's'} from the last {self.fresh_hours:g} h.")


NEXT_STEP_NOTES = ("Call back as agreed", "Send the pricing deck", "Follow up on the trial", "Book the discovery call",
                   "Check in after their board meeting", "Share the case study", "Confirm the buying committee")


def _next_steps_plan(rng: random.Random, *, now: datetime) -> int:
    """Half the leads still being worked get a next step, as reps plan them when they log a touch:
    some came due while the rep was away (overdue now), some are due later today, the rest in a few days."""
    planned = 0
    working = LeadAssignment.objects.filter(state=LeadState.WORKING, owner__isnull=False).select_related(
        "owner").order_by("lead_id")
    for assignment in working:
        if rng.random() >= 0.5:
            continue
        roll = rng.random()
        planned_at = assignment.updated_at  # when the rep last touched it
        at = planned_at + timedelta(minutes=rng.uniform(30, 240))
        if roll < 0.3 and now - timedelta(days=2) < planned_at and at < now:
            pass  # planned at the last touch, and it came due while the rep was away: overdue now
        elif roll < 0.7:
            planned_at, at = now, now + timedelta(minutes=rng.uniform(20, 300))
        else:
            planned_at, at = now, now + timedelta(days=rng.randint(1, 4), minutes=rng.uniform(0, 480))
        lead_next_step_set(assignment.lead_id, rep=assignment.owner, at=at, note=rng.choice(NEXT_STEP_NOTES),
                           now=planned_at)
        planned += 1
    return planned


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


Action = Callable[[datetime], None]


class MonthReplay:
    """The month played back in time order: intake, the desk's hand-on, reps' work and the SLA watch.

    Everything goes through the real services with the moment it happened as
    ``now``. Time order matters: scoring reads every stored activity, so a lead
    scored at a past moment must not have its later activities stored yet; a
    rep's capacity, round robin and the SLA watch depend on what every other
    lead was doing at that moment.

    - Each submission that lands on a lead is scored and routed as the live
      hand-on would (``sdr_desk.routing.receivers.lead_hand_on``), at its own time.
    - Each clock that starts gets a ``WorkPlan`` drawn from the seed and the
      lead's email: an unowned lead is claimed by one of the reps who may, the
      owner touches it, follows up, and later closes it.
    - Before anything happens at a moment, the SLA watch runs at every deadline
      that came due since, so warnings and escalations land when they fell due.
    - Leads arriving in the last ``fresh`` hours are handed on at the real now
      and left unworked: what the demo starts with.
    """

    def __init__(self, *, seed: int, until: datetime, fresh_from: datetime, counts: DeskCounts) -> None:
        self.seed = seed
        self.until = until
        self.fresh_from = fresh_from
        self.counts = counts
        self._queue: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()  # ties at one moment keep the order they were planned in
        self._swept_to: datetime | None = None
        self._deadline: datetime | None = None  # the next one after _swept_to, while _deadline_known
        self._deadline_known = False
        self._clocks: dict[int, int] = {}  # lead -> clocks started so far; a plan for an older clock lapses
        self._emails: dict[int, str] = {}
        self._fresh: dict[int, tuple[bool, bool]] = {}  # lead -> (converted, created) in the fresh window
        # The people do not change while the month replays: read them once, not at every claim or handoff.
        self._team_reps: dict[int, list[Rep]] = {}
        self._has_ae: bool | None = None

    def run(self, stories: list[Story], *, send: Callable[[Step], Outcome]) -> None:
        steps = sorted(((step.at, n, step) for n, step in enumerate(s for story in stories for s in story.steps)),
                       key=lambda item: (item[0], item[1]))
        for at, _, step in steps:
            self._advance(at)
            self._arrived(step, send(step))
        self._advance(self.until)
        # Deadlines that fell due while this ran are past too; a last sweep at the same moment catches any
        # deadline set behind the watch. The live watch's first sweep then finds nothing overdue.
        end = timezone.now()
        self._sweep_to(end)
        self._tally(sla_sweep(now=end))
        self._response_times()
        self._fresh_hand_on()

    # --- the clock of the replay -----------------------------------------------------------------

    def _schedule(self, at: datetime, action: Action) -> None:
        if at < self.until:  # after the demo starts: it has not happened yet
            heapq.heappush(self._queue, (at, next(self._order), action))

    def _advance(self, moment: datetime) -> None:
        while self._queue and self._queue[0][0] <= moment:
            at, _, action = heapq.heappop(self._queue)
            self._sweep_to(at)
            action(at)
        self._sweep_to(moment)

    def _sweep_to(self, moment: datetime) -> None:
        """Run the SLA watch at each deadline up to ``moment``, as the live watch would have."""
        while True:
            if not self._deadline_known:
                self._deadline, self._deadline_known = _next_deadline(after=self._swept_to), True
            if self._deadline is None or self._deadline > moment:
                return
            self._tally(sla_sweep(now=self._deadline))  # whatever it changed, the next lookup sees
            self._swept_to, self._deadline_known = self._deadline, False

    def _desk_changed(self) -> None:
        """Deadlines may have moved: look them up again before the next sweep (not after every step)."""
        self._deadline_known = False

    def _tally(self, swept: dict[str, int]) -> None:
        self.counts.warned += swept.get("warned", 0)
        self.counts.escalated += swept.get("escalated", 0)
        self.counts.released += swept.get("released", 0)

    # --- intake and the hand-on ---------------------------------------------------------------------

    def _arrived(self, step: Step, outcome: Outcome) -> None:
        lead = outcome.lead
        if lead is None:
            return  # an anonymous visit: nothing for the desk until the visitor is known
        self._emails.setdefault(lead.pk, lead.email)
        kind = outcome.submission.kind
        if step.at >= self.fresh_from:
            converted, created = self._fresh.get(lead.pk, (False, False))
            self._fresh[lead.pk] = (converted or kind == SubmissionKind.LEAD, created or outcome.created)
            return
        assignment = _hand_on(lead.pk, converted=kind == SubmissionKind.LEAD, created=outcome.created, now=step.at)
        if assignment is not None:
            self._desk_changed()
            self._plan(assignment, at=step.at)

    def _fresh_hand_on(self) -> None:
        """The last hours as the live desk would leave them: scored and routed now, clocks running, unclaimed."""
        for lead_id, (converted, created) in self._fresh.items():
            _hand_on(lead_id, converted=converted, created=created, now=None)
            self.counts.fresh += created

    # --- the reps ------------------------------------------------------------------------------------

    def _plan(self, assignment: LeadAssignment, *, at: datetime) -> None:
        lead_id = assignment.lead_id
        clock = self._clocks.get(lead_id, 0) + 1
        self._clocks[lead_id] = clock
        self.counts.clocks += 1
        rng = random.Random(f"{self.seed}:{self._emails[lead_id]}:{clock}")
        plan = work_plan(rng, tier=assignment.tier, owned=assignment.owner_id is not None, hot=assignment.is_hot)
        if plan.first_touch_after is None:
            return
        started = max(assignment.sla_started_at or at, at)
        touch_at = started + plan.first_touch_after
        if touch_at >= self.until:
            return  # not answered yet when the demo starts: no claim either, or it would lapse at the start
        claim_at = max(started + timedelta(seconds=5), touch_at - plan.claim_ahead)
        self._schedule(claim_at, partial(self._respond, lead_id, clock, plan, touch_at))

    def _respond(self, lead_id: int, clock: int, plan: WorkPlan, touch_at: datetime, now: datetime) -> None:
        if self._clocks[lead_id] != clock:
            return  # the clock restarted since: the new one has its own plan
        assignment = LeadAssignment.objects.select_related("team__manager", "owner", "lead").get(lead_id=lead_id)
        if assignment.first_touch_at is not None:
            return
        rep = assignment.owner
        if rep is None:
            # Offered to a claim-mode team, waiting in the team queue, or escalated to the manager queue.
            claimants = self._claimants(assignment, now=now)
            if not claimants:
                return
            rep = claimants[int(plan.claimant_pick * len(claimants))]
            try:
                lead_claim(lead_id, user=rep, now=now)
            except OwnershipError:
                return
            self._desk_changed()
            self.counts.claimed += 1
        lead = assignment.lead
        for touch in plan.touches:
            notes = touch_note(touch.note, first_name=lead.first_name, company=lead.company,
                          form_type=lead.last_form_type, asset=lead.last_asset)
            self._schedule(touch_at + touch.after, partial(self._touch, lead_id, clock, rep, touch, notes))
        if plan.close_after is not None:
            closed_at = touch_at + plan.touches[-1].after + plan.close_after
            self._schedule(closed_at, partial(self._close, lead_id, clock, rep, plan.close_reason))

    def _claimants(self, assignment: LeadAssignment, *, now: datetime) -> list[AbstractBaseUser]:
        """Who takes an unowned lead: a rep of its team who may claim it, one with room first."""
        team = assignment.team
        if team is None:
            return []
        if team.pk not in self._team_reps:
            self._team_reps[team.pk] = list(Rep.objects.filter(team=team, role=RepRole.SDR).select_related("user")
                                            .order_by("user__username"))
        reps = self._team_reps[team.pk]
        allowed = [rep for rep in reps if may_claim(rep.user, assignment)]
        # A rep at capacity leaves it to a teammate with room, as routing would; otherwise reps fill up
        # at random and routing finds nobody eligible for the rest of the month (and in the live demo).
        with_room, _ = eligibility(allowed, now=now)
        claimants = [rep.user for rep in with_room or allowed]
        if not claimants and team.manager is not None and may_claim(team.manager, assignment):
            claimants = [team.manager]  # an owned-mode lead its reps may not take: the manager picks it up
        return claimants

    def _touch(self, lead_id: int, clock: int, rep: AbstractBaseUser, touch: TouchPlan, notes: str,
               now: datetime) -> None:
        if self._clocks[lead_id] != clock:
            return  # the clock restarted since; a plan closes its lead only after its last touch
        try:
            touch_log(lead_id, rep=rep, channel=touch.channel, outcome=touch.outcome, notes=notes, now=now)
        except OwnershipError:
            return  # escalated or released before the rep got to it: no longer theirs to touch
        self._desk_changed()
        if touch.after:
            self.counts.follow_ups += 1
        else:
            self.counts.first_touches += 1

    def _close(self, lead_id: int, clock: int, rep: AbstractBaseUser, close: tuple[str, str, str],
               now: datetime) -> None:
        if self._clocks[lead_id] != clock:
            return
        code, reason, note = close
        state = LeadAssignment.objects.filter(lead_id=lead_id).values_list("owner_id", "state").first()
        if state != (rep.pk, LeadState.WORKING):
            return
        reengage = timezone.localdate(now) + timedelta(days=NURTURE_DAYS) if code == "not-ready-nurture" else None
        if code.startswith("qualified-"):
            self._qualify(lead_id, rep, now=now)
        lead_disposition(lead_id, user=rep, code=code, reason=reason, note=note, reengage_on=reengage, now=now)
        self._desk_changed()
        self.counts.closed += 1
        if code.startswith("qualified-"):
            self._hand_off(lead_id, rep, note=note, now=now)

    def _hand_off(self, lead_id: int, rep: AbstractBaseUser, *, note: str, now: datetime) -> None:
        """A qualified lead goes to the AE with a meeting two days on; the AE's verdict and the meeting follow."""
        from sdr_desk.handoff.services import lead_handoff
        from sdr_desk.routing.ownership import OwnershipError as Refused

        if self._has_ae is None:
            self._has_ae = Rep.objects.filter(role=RepRole.AE).exists()
        if not self._has_ae:
            return  # DEBUG off: no demo AE
        rng = random.Random(f"{self.seed}:{self._emails[lead_id]}:handoff")
        try:
            handoff = lead_handoff(lead_id, sdr=rep, note=note, meeting_at=now + timedelta(days=2), now=now)
        except Refused:
            return
        self.counts.handoffs += 1
        accept = rng.random() < 0.8
        reason = rng.choice(HANDOFF_REJECTIONS)
        outcome = _weighted(rng, MEETING_OUTCOMES_PLAN)
        self._schedule(now + timedelta(hours=rng.uniform(1, 20)),
                       partial(self._verdict, handoff.pk, accept, reason, outcome))

    def _verdict(self, handoff_id: int, accept: bool, reason: str, outcome: str, now: datetime) -> None:
        from sdr_desk.handoff.models import Handoff
        from sdr_desk.handoff.services import handoff_verdict

        handoff = Handoff.objects.select_related("ae").get(pk=handoff_id)
        handoff_verdict(handoff_id, ae=handoff.ae, accept=accept, reason="" if accept else reason, now=now)
        self._desk_changed()
        if accept and handoff.meeting_at:
            self._schedule(handoff.meeting_at + timedelta(minutes=35), partial(self._meeting, handoff_id, outcome))

    def _meeting(self, handoff_id: int, outcome: str, now: datetime) -> None:
        from sdr_desk.handoff.models import Handoff
        from sdr_desk.handoff.services import meeting_outcome

        handoff = Handoff.objects.select_related("ae").get(pk=handoff_id)
        meeting_outcome(handoff_id, user=handoff.ae, outcome=outcome, now=now,
                        new_time=now + timedelta(days=3) if outcome == "rescheduled" else None)

    def _qualify(self, lead_id: int, rep: AbstractBaseUser, *, now: datetime) -> None:
        """The rep answers the checklist on the call, as a qualified code requires."""
        from sdr_desk.qualification.services import answer_record, lead_checklist

        team_id = LeadAssignment.objects.filter(lead_id=lead_id).values_list("team_id", flat=True).first()
        for item, _ in lead_checklist(lead_id, team_id):
            text = DEMO_ANSWERS.get(item.key)
            if text:
                answer_record(lead_id, user=rep, item=item.pk, text=text, now=now - timedelta(minutes=2))

    def _response_times(self) -> None:
        self.counts.hand_raiser_response = list(
            LeadAssignment.objects.filter(lead_id__in=list(self._emails), tier="hand_raiser",
                                          response_seconds__isnull=False)
            .values_list("response_seconds", flat=True))


def _hand_on(lead_id: int, *, converted: bool, created: bool, now: datetime | None) -> LeadAssignment | None:
    """What the live receiver does (``sdr_desk.routing.receivers.lead_hand_on_now``), on the given clock.

    A copy, because the receiver always reads the real clock; keep the two in step (or give the receiver
    a ``now``). Failures are not queued for retry here: a seed should stop loudly. Returns the assignment
    when a clock started, the last one when the lead was routed twice.
    """
    lead_rescore(lead_id, trigger="submission" if converted else "activity", restart_clock=not created, now=now)
    assignment = lead_hand_on_route(lead_id, now=now)
    if created and assignment is not None and assignment.team and assignment.team.hot_criteria_id:
        # A new lead was scored by the default criteria; its team has its own: judge it by those.
        lead_rescore(lead_id, trigger="team criteria", criteria_id=assignment.team.hot_criteria_id, now=now)
        assignment = lead_hand_on_route(lead_id, now=now) or assignment
    return assignment


def _next_deadline(*, after: datetime | None) -> datetime | None:
    """The first moment after ``after`` at which ``sla_sweep`` has something to do (its own three conditions)."""
    def later(name: str) -> Q:
        return Q(**{f"{name}__gt": after}) if after is not None else Q()

    waiting = Q(state__in=[LeadState.OFFERED, LeadState.ASSIGNED, LeadState.QUEUED])
    row = LeadAssignment.objects.filter(first_touch_at__isnull=True).aggregate(
        due=Min("sla_due_at", filter=waiting & later("sla_due_at")),
        warn=Min("sla_warn_at", filter=waiting & Q(sla_warned=False) & later("sla_warn_at")),
        release=Min("claim_expires_at", filter=Q(state=LeadState.ASSIGNED) & later("claim_expires_at")),
    )
    return min((moment for moment in row.values() if moment is not None), default=None)
