"""``manage.py seed_demo``: a desk with people, sources, forms and a month of inbound leads.

Safe to run again: everything is found or created by its natural key, and a
demo lead whose email is already on the desk is skipped whole, so the same
``--seed`` adds nothing the second time and another seed adds other leads.

Leads are made through intake's own services, one submission at a time, so
the demo exercises dedupe, accounts, visitor stitching and the timeline
exactly as live traffic does; only the clock is turned back (see
``_step_send``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
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
from inbound.services import submission_process, submission_receive
from sdr_desk.models import Rep, RepRole, Team, Visibility
from sdr_desk.roles import Role

DEMO_PASSWORD = "demo"
SIGN_IN_HINT = "Sign in at http://127.0.0.1:8000/ as sdr1 / demo (or manager, marketing, ae1, admin)"


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
# A demo desk is open around the clock, so it moves whenever someone looks at it.
DEMO_HOURS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

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

    def handle(self, *args: Any, leads: int, seed: int, **options: Any) -> None:
        if leads < 0:
            raise CommandError("--leads cannot be negative.")
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
        made, skipped = self._leads_seed(leads, seed=seed, sources=sources, forms=forms)
        self._report(made=made, skipped=skipped, seconds=time.monotonic() - started)
        if settings.DEBUG:
            self.stdout.write(self.style.SUCCESS(SIGN_IN_HINT))

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
                defaults={"time_zone": spec.time_zone, "visibility": spec.visibility, "is_default": spec.is_default,
                          "business_hours": DEMO_HOURS},
            )
            if users:
                team.manager = users[spec.manager]
                team.save(update_fields=["manager"])
                for name in spec.members:
                    Rep.objects.update_or_create(
                        user=users[name],
                        defaults={"team": team, "role": RepRole.SDR, "time_zone": spec.time_zone,
                                  "working_hours": DEMO_HOURS},
                    )
        if users:
            Rep.objects.get_or_create(user=users["manager"], defaults={"role": RepRole.MANAGER})
            Rep.objects.get_or_create(user=users["ae1"], defaults={"role": RepRole.AE})
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

    def _leads_seed(self, count: int, *, seed: int, sources: dict[str, Source],
                    forms: dict[str, HostedForm]) -> tuple[int, int]:
        if not count:
            return 0, 0
        stories = demo_data.stories_plan(random.Random(seed), count=count, now=timezone.now())
        existing = set(Lead.objects.filter(email__in=[s.email for s in stories]).values_list("email", flat=True))
        keys = {name: self._source_key(source) for name, source in sources.items()}
        made = 0
        for story in stories:
            if story.email in existing:
                continue
            self._story_send(story, sources=sources, keys=keys, forms=forms)
            made += 1
        _accounts_backdate()
        return made, len(existing)

    @staticmethod
    def _source_key(source: Source) -> ApiKey:
        key = source.api_keys.filter(revoked_at__isnull=True).order_by("created_at").first()
        assert key is not None, "_sources_seed gives every source a key"
        return key

    @transaction.atomic
    def _story_send(self, story: Story, *, sources: dict[str, Source], keys: dict[str, ApiKey],
                    forms: dict[str, HostedForm]) -> None:
        """One lead's whole history in one transaction: a failure leaves no half-told story behind."""
        for step in story.steps:
            _step_send(step, source=sources[step.source], key=keys[step.source], forms=forms)

    def _report(self, *, made: int, skipped: int, seconds: float) -> None:
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


def _step_send(step: Step, *, source: Source, key: ApiKey, forms: dict[str, HostedForm]) -> None:
    """Send one step through intake, as if it had arrived at ``step.at``.

    Demo seeding only: intake stamps times with "now", so the submission is
    received, its time turned back *before* processing (activities and the
    timeline take the submission's time), and afterwards the lead's own
    timestamps, which the service sets to now, are turned back the same way.
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
    outcome = submission_process(submission)
    if not outcome.ok:
        # The generator promises valid payloads (tests check 500 of them): stop loudly.
        raise CommandError(f"Demo submission {submission.pk} was {submission.status}: {submission.error}")
    Submission.objects.filter(pk=submission.pk).update(processed_at=step.at)
    if kind == SubmissionKind.LEAD and outcome.lead is not None:
        backdated: dict[str, Any] = {"updated_at": step.at, "last_converted_at": step.at}
        if outcome.created:
            backdated["created_at"] = step.at
        Lead.objects.filter(pk=outcome.lead.pk).update(**backdated)


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
