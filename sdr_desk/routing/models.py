"""Routing: teams and reps, routing rules, who owns each lead, the touches, and the speed-to-lead clock.

Intake and scoring know nothing of these; the desk points at their models
(a lead, an account, a team's hot-lead criteria).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inbound.models import Account, FormType, Lead, Source

DEFAULT_HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def default_hours() -> dict[str, list[list[str]]]:
    return {day: [list(interval) for interval in intervals] for day, intervals in DEFAULT_HOURS.items()}


def _hours_errors(value: object, time_zone: str) -> str | None:
    from sdr_desk.routing.business_hours import Calendar

    try:
        Calendar.from_config(time_zone=time_zone, hours=value)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError) as error:
        return str(error)
    return None


class Visibility(models.TextChoices):
    CLAIM = "claim", "Claim: every eligible rep sees an unclaimed hot lead, first claim wins"
    OWNED = "owned", "Owned: the lead is assigned and only its owner sees it"


class AfterHours(models.TextChoices):
    NEXT_OPENING = "next_opening", "Start the clock at the next opening"
    FOLLOW_THE_SUN = "follow_the_sun", "Hand the lead to the follow-the-sun team"


class EscalationPath(models.TextChoices):
    BACKUP_THEN_MANAGER = "backup_then_manager", "Backup rep, then the manager queue"
    MANAGER = "manager", "Straight to the manager queue"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False, help_text="where leads go when no routing rule matches")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="managed_teams")
    backup_rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="backup_for_teams")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.CLAIM)
    time_zone = models.CharField(max_length=64, default="UTC")
    business_hours = models.JSONField(default=default_hours, help_text='{"mon": [["09:00", "17:00"]], ...}')
    after_hours = models.CharField(max_length=20, choices=AfterHours.choices, default=AfterHours.NEXT_OPENING)
    follow_the_sun_team = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="+")
    hot_criteria = models.ForeignKey("scoring.HotLeadCriteria", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="teams", help_text="when a lead is hot for this team; "
                                                                     "empty: the default criteria")
    sla_hand_raiser_seconds = models.PositiveIntegerField(null=True, blank=True, default=300)
    sla_researcher_seconds = models.PositiveIntegerField(null=True, blank=True, default=86400)
    sla_light_seconds = models.PositiveIntegerField(null=True, blank=True, default=None)
    warn_fraction = models.FloatField(default=0.6, help_text="warn when this share of the SLA has passed")
    escalation_path = models.CharField(max_length=30, choices=EscalationPath.choices,
                                       default=EscalationPath.BACKUP_THEN_MANAGER)
    claim_touch_minutes = models.PositiveIntegerField(
        default=3, help_text="a claimed lead left untouched this long returns to the board")
    escalation_streak_limit = models.PositiveIntegerField(
        default=3, help_text="a rep who lets this many leads escalate in a row is set to away")

    class Meta:
        db_table = "sdr_desk_team"  # the table from before the desk became apps
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="one_default_team")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        problem = _hours_errors(self.business_hours, self.time_zone)
        if problem:
            errors["business_hours"] = problem
        if not 0 < self.warn_fraction < 1:
            errors["warn_fraction"] = "Give a fraction between 0 and 1, e.g. 0.6."
        if self.after_hours == AfterHours.FOLLOW_THE_SUN and not self.follow_the_sun_team_id:
            errors["follow_the_sun_team"] = "Choose the team that takes leads after hours."
        if self.follow_the_sun_team_id and self.follow_the_sun_team_id == self.pk:
            errors["follow_the_sun_team"] = "A team cannot follow the sun to itself."
        if errors:
            raise ValidationError(errors)

    def sla_seconds(self, tier: str) -> int | None:
        return {"hand_raiser": self.sla_hand_raiser_seconds, "researcher": self.sla_researcher_seconds,
                "light": self.sla_light_seconds}.get(tier)


class TeamHoliday(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "sdr_desk_teamholiday"  # the table from before the desk became apps
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["team", "date"], name="teamholiday_unique")]

    def __str__(self) -> str:
        return f"{self.team}: {self.date} {self.name}".strip()


class RepRole(models.TextChoices):
    SDR = "sdr", "SDR"
    AE = "ae", "AE"
    MANAGER = "manager", "Manager"


class RepStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"


class Rep(models.Model):
    """A user who works leads: their team, hours, status and how many hot leads they can hold."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep")
    role = models.CharField(max_length=10, choices=RepRole.choices, default=RepRole.SDR)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="reps")
    time_zone = models.CharField(max_length=64, default="UTC")
    working_hours = models.JSONField(default=default_hours)
    status = models.CharField(max_length=10, choices=RepStatus.choices, default=RepStatus.AVAILABLE)
    capacity = models.PositiveIntegerField(default=5, help_text="open hot leads at once")
    weight = models.PositiveIntegerField(default=1, help_text="share of round-robin leads, relative to teammates")
    # Weighted round robin: the rep with the fewest leads per unit of weight is next.
    routed_count = models.PositiveIntegerField(default=0)
    last_routed_at = models.DateTimeField(null=True, blank=True)
    escalation_streak = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "sdr_desk_rep"  # the table from before the desk became apps
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    def clean(self) -> None:
        problem = _hours_errors(self.working_hours, self.time_zone)
        if problem:
            raise ValidationError({"working_hours": problem})
        if self.weight == 0:
            raise ValidationError({"weight": "A weight of 0 would never receive a lead; set the rep away instead."})


class RoutingRule(models.Model):
    """If a lead matches every condition given, it goes to the target team or rep. First match wins."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    countries = models.JSONField(default=list, blank=True, help_text="ISO codes or regions (NA, EMEA, DACH...)")
    states = models.JSONField(default=list, blank=True)
    industries = models.JSONField(default=list, blank=True)
    employee_min = models.PositiveIntegerField(null=True, blank=True)
    employee_max = models.PositiveIntegerField(null=True, blank=True)
    sources = models.ManyToManyField(Source, blank=True, related_name="+")
    form_types = models.JSONField(default=list, blank=True)
    tiers = models.JSONField(default=list, blank=True)
    grades = models.JSONField(default=list, blank=True)
    target_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    target_rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")

    class Meta:
        db_table = "sdr_desk_routingrule"  # the table from before the desk became apps
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from scoring.models import REGIONS

        errors = {}
        if bool(self.target_team_id) == bool(self.target_rep_id):
            errors["target_team"] = "Send the lead to a team or to a rep: exactly one."
        if self.employee_min is not None and self.employee_max is not None and self.employee_min > self.employee_max:
            errors["employee_max"] = f"The maximum ({self.employee_max}) is below the minimum ({self.employee_min})."
        for name, allowed in (("form_types", set(FormType.values)), ("tiers", {"hand_raiser", "researcher", "light",
                                                                                  "none"}),
                              ("grades", set("ABCD"))):
            value = getattr(self, name)
            if not isinstance(value, list) or set(value) - allowed:
                errors[name] = f"Choose from: {', '.join(sorted(allowed))}."
        for name in ("countries", "states", "industries"):
            value = getattr(self, name)
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                errors[name] = "Give a list of non-empty names."
        if isinstance(self.countries, list):
            unknown = [c for c in self.countries if isinstance(c, str) and c.upper() not in REGIONS and len(c) != 2]
            if unknown:
                errors["countries"] = f"Not ISO country codes or regions: {', '.join(unknown)}."
        if errors:
            raise ValidationError(errors)


class AccountOwner(models.Model):
    """The rep who owns an account: its next leads go to them first."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, primary_key=True, related_name="desk_owner")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_accounts")
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sdr_desk_accountowner"  # the table from before the desk became apps

    def __str__(self) -> str:
        return f"{self.account} → {self.owner}"


class LeadState(models.TextChoices):
    QUEUED = "queued", "In the team queue"      # nobody eligible: the team's manager sees it
    OFFERED = "offered", "Offered to the team"   # claim mode: every eligible rep sees it
    ASSIGNED = "assigned", "Assigned"            # owned by a rep, not touched yet
    WORKING = "working", "Working"               # owner has touched it
    ESCALATED = "escalated", "In the manager queue"
    CLOSED = "closed", "Closed"


ACTIVE_STATES = [LeadState.QUEUED, LeadState.OFFERED, LeadState.ASSIGNED, LeadState.ESCALATED]
OWNED_OPEN = (LeadState.ASSIGNED, LeadState.WORKING)  # a rep has it and it is not closed


class LeadAssignment(models.Model):
    """Where a lead stands on the desk: team, owner, and its speed-to-lead clock.

    Changed only through ``sdr_desk.routing.ownership.lead_owner_change`` (ownership)
    and the clock functions in ``sdr_desk.routing.sla``; both record to the timeline.
    """

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, primary_key=True, related_name="assignment")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="assigned_leads")
    state = models.CharField(max_length=10, choices=LeadState.choices, default=LeadState.QUEUED)
    is_hot = models.BooleanField(default=False)
    tier = models.CharField(max_length=20, default="none")
    routing_trace = models.JSONField(default=dict, blank=True)
    routed_at = models.DateTimeField(null=True, blank=True)
    owned_since = models.DateTimeField(null=True, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True,
                                            help_text="a claim not followed by a touch by then returns to the board")
    # The clock: started when the lead arrived or turned hot, stopped by the owner's first touch.
    sla_started_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_warn_at = models.DateTimeField(null=True, blank=True)
    sla_warned = models.BooleanField(default=False)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    response_seconds = models.FloatField(null=True, blank=True)
    response_business_seconds = models.FloatField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    # The owner's next step on the lead (call back Tuesday at 10): the board's "Due today".
    next_step_at = models.DateTimeField(null=True, blank=True)
    next_step = models.CharField(max_length=200, blank=True)
    # Bumped on every change: the board asks "what changed since version N".
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sdr_desk_leadassignment"  # the table from before the desk became apps
        indexes = [
            models.Index(fields=["sla_due_at"], name="assignment_due_idx",
                         condition=Q(first_touch_at__isnull=True, sla_due_at__isnull=False)),
            models.Index(fields=["sla_warn_at"], name="assignment_warn_idx",
                         condition=Q(first_touch_at__isnull=True, sla_warned=False, sla_warn_at__isnull=False)),
            models.Index(fields=["team", "state"], name="assignment_team_state_idx"),
            models.Index(fields=["owner", "state"], name="assignment_owner_state_idx"),
            models.Index(fields=["updated_at"], name="assignment_updated_idx"),
            models.Index(fields=["claim_expires_at"], name="assignment_claim_idx",
                         condition=Q(claim_expires_at__isnull=False, first_touch_at__isnull=True)),
            models.Index(fields=["owner", "next_step_at"], name="assignment_next_step_idx",
                         condition=Q(next_step_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.state} ({self.owner or self.team or 'unrouted'})"


class TouchChannel(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    LINKEDIN = "linkedin", "LinkedIn"


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    VOICEMAIL = "voicemail", "Voicemail"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"


class Touch(models.Model):
    """Something a rep did to reach the lead. The owner's first one stops the clock."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="touches")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="touches")
    channel = models.CharField(max_length=10, choices=TouchChannel.choices)
    outcome = models.CharField(max_length=15, choices=CallOutcome.choices, blank=True)
    notes = models.TextField(blank=True, max_length=5000)
    occurred_at = models.DateTimeField(default=timezone.now)
    is_first = models.BooleanField(default=False)

    class Meta:
        db_table = "sdr_desk_touch"  # the table from before the desk became apps
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="touch_lead_idx"),
                   models.Index(fields=["rep", "-occurred_at"], name="touch_rep_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} by {self.rep} on {self.lead_id}"
