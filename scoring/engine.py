"""The scoring engine: pure functions over plain values, no database.

A rule set is compiled once per version (patterns compiled, regions expanded)
and then scores leads in microseconds, so scoring can run inside intake and
over 100,000 leads in bulk with the same code.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scoring.models import REGIONS, TIER_RANK, FitKind, Signal, Tier

FORM_SIGNALS = {
    "demo_request": Signal.DEMO_REQUEST,
    "pricing": Signal.PRICING_REQUEST,
    "trial_signup": Signal.TRIAL_SIGNUP,
    "content_download": Signal.CONTENT_DOWNLOAD,
    "webinar": Signal.WEBINAR_REGISTRATION,
    "newsletter": Signal.NEWSLETTER,
    "contact": Signal.CONTACT_REQUEST,
}
EVENT_SIGNALS = {
    "page_view": Signal.PAGE_VIEW,
    "pricing_page_view": Signal.PRICING_PAGE_VIEW,
    "content_download": Signal.CONTENT_DOWNLOAD,
    "webinar_attended": Signal.WEBINAR_ATTENDED,
    "trial_milestone": Signal.TRIAL_MILESTONE,
    "email_reply": Signal.EMAIL_REPLY,
}
VISIT_TYPES = {"page_view", "pricing_page_view"}
SIGNAL_LABELS = dict(Signal.choices)

# Titles and addresses that say "not a buyer": the student and job-seeker signal.
STUDENT_PATTERN = re.compile(
    r"\b(student|intern|internship|job ?seeker|seeking (?:a )?(?:job|role|position|opportunit\w*)|"
    r"looking for (?:work|a job|opportunit\w*)|unemployed|undergrad\w*|phd candidate|graduate student)\b",
    re.IGNORECASE,
)
ACADEMIC_DOMAIN = re.compile(r"(\.edu|\.ac\.[a-z]{2}|\.edu\.[a-z]{2})$", re.IGNORECASE)


@dataclass(frozen=True)
class LeadFacts:
    """What fit rules may look at, gathered from the lead and its account."""

    email: str
    job_title: str = ""
    industry: str = ""
    employee_count: int | None = None
    country: str = ""
    is_personal_email: bool = False
    tech: tuple[str, ...] = ()
    source_id: int | None = None

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].lower()


@dataclass(frozen=True)
class ActivityFact:
    type: str
    form_type: str
    occurred_at: datetime
    source_id: int | None = None
    name: str = ""


@dataclass
class Criteria:
    id: int
    name: str
    mode: str
    min_score: int | None
    form_types: frozenset[str]
    source_ids: frozenset[int]
    on_trial_milestone: bool
    on_pricing_return_visit: bool
    within_days: int

    @property
    def has_conditions(self) -> bool:
        return (self.min_score is not None or bool(self.form_types) or bool(self.source_ids)
                or self.on_trial_milestone or self.on_pricing_return_visit)


@dataclass
class FitMatcher:
    id: int
    name: str
    kind: str
    points: int
    values: tuple[str, ...]
    min_value: int | None
    max_value: int | None
    pattern: re.Pattern[str] | None = None
    countries: frozenset[str] = frozenset()

    def match(self, facts: LeadFacts) -> str | None:
        """Why the rule fires ('industry is Software'), or None when it does not."""
        kind = self.kind
        if kind == FitKind.INDUSTRY_IN:
            wanted = {v.casefold() for v in self.values}
            return f"industry is {facts.industry}" if facts.industry.casefold() in wanted else None
        if kind == FitKind.EMPLOYEES_BETWEEN:
            count = facts.employee_count
            if count is None:
                return None
            if (self.min_value is None or count >= self.min_value) and (self.max_value is None or count <= self.max_value):
                return f"{count:,} employees"
            return None
        if kind == FitKind.COUNTRY_IN:
            return f"based in {facts.country}" if facts.country and facts.country in self.countries else None
        if kind == FitKind.TITLE_MATCHES:
            assert self.pattern is not None
            found = self.pattern.search(facts.job_title)
            return f'title "{facts.job_title}" says "{found.group(0)}"' if found else None
        if kind == FitKind.TECH_IN:
            wanted = {v.casefold() for v in self.values}
            used = [t for t in facts.tech if t.casefold() in wanted]
            return f"uses {', '.join(used)}" if used else None
        if kind == FitKind.PERSONAL_EMAIL:
            return f"personal address at {facts.domain}" if facts.is_personal_email else None
        if kind == FitKind.COMPETITOR_DOMAIN:
            domain = facts.domain
            hit = next((d for d in self.values if domain == d.lower() or domain.endswith("." + d.lower())), None)
            return f"email at competitor {hit}" if hit else None
        if kind == FitKind.STUDENT_OR_JOB_SEEKER:
            if ACADEMIC_DOMAIN.search(facts.domain):
                return f"academic address at {facts.domain}"
            found = STUDENT_PATTERN.search(facts.job_title) or (self.pattern and self.pattern.search(facts.job_title))
            return f'title "{facts.job_title}" says "{found.group(0)}"' if found else None
        raise ValueError(f"unknown fit rule kind {kind!r}")


@dataclass
class IntentRuleSpec:
    signal: str
    points: int
    cap: int
    tier: str
    window_days: int


@dataclass
class RuleSet:
    version: int
    half_life_days: float
    lookback_days: int
    grade_cutoffs: tuple[int, int, int]
    fit: list[FitMatcher]
    intent: dict[str, IntentRuleSpec]
    criteria: dict[int, Criteria]
    default_criteria_id: int | None

    def criteria_for(self, criteria_id: int | None) -> Criteria | None:
        if criteria_id is not None and criteria_id in self.criteria:
            return self.criteria[criteria_id]
        return self.criteria.get(self.default_criteria_id) if self.default_criteria_id else None


@dataclass
class Result:
    fit: int
    intent: int
    total: int
    grade: str
    tier: str
    is_hot: bool
    reasons: list[dict[str, Any]]
    missed: list[dict[str, Any]]
    hot_because: list[str]
    errors: list[tuple[str, str]] = field(default_factory=list)


def compile_ruleset(snapshot: dict[str, Any]) -> RuleSet:
    settings = snapshot["settings"]
    fit = []
    for rule in snapshot["fit"]:
        matcher = FitMatcher(id=rule["id"], name=rule["name"], kind=rule["kind"], points=rule["points"],
                             values=tuple(v.strip() for v in rule.get("values") or [] if v.strip()),
                             min_value=rule.get("min_value"), max_value=rule.get("max_value"))
        if matcher.kind in (FitKind.TITLE_MATCHES, FitKind.STUDENT_OR_JOB_SEEKER) and matcher.values:
            # Word boundaries so "CTO" does not match "Director" and "VP" not "MVP".
            matcher.pattern = re.compile(r"\b(?:" + "|".join(f"(?:{v})" for v in matcher.values) + r")\b",
                                         re.IGNORECASE)
        if matcher.kind == FitKind.COUNTRY_IN:
            codes: set[str] = set()
            for value in matcher.values:
                codes.update(REGIONS.get(value.upper(), [value.upper()]))
            matcher.countries = frozenset(codes)
        fit.append(matcher)
    intent = {rule["signal"]: IntentRuleSpec(signal=rule["signal"], points=rule["points"], cap=rule["cap"],
                                             tier=rule["tier"], window_days=rule.get("window_days") or 7)
              for rule in snapshot["intent"]}
    criteria = {
        c["id"]: Criteria(id=c["id"], name=c["name"], mode=c["mode"], min_score=c.get("min_score"),
                          form_types=frozenset(c.get("form_types") or []),
                          source_ids=frozenset(c.get("source_ids") or []),
                          on_trial_milestone=c.get("on_trial_milestone", False),
                          on_pricing_return_visit=c.get("on_pricing_return_visit", False),
                          within_days=c.get("within_days") or 30)
        for c in snapshot.get("criteria", [])
    }
    return RuleSet(
        version=snapshot.get("version", 0),
        half_life_days=max(float(settings["half_life_days"]), 0.01),
        lookback_days=settings["lookback_days"],
        grade_cutoffs=(settings["grade_a_min"], settings["grade_b_min"], settings["grade_c_min"]),
        fit=fit,
        intent=intent,
        criteria=criteria,
        default_criteria_id=snapshot.get("default_criteria_id"),
    )


def activity_signal(activity: ActivityFact) -> str | None:
    if activity.type == "form_submit":
        return FORM_SIGNALS.get(activity.form_type)
    return EVENT_SIGNALS.get(activity.type)


def _visit_days(activities: Iterable[ActivityFact], types: set[str]) -> list[datetime]:
    """The first visit of each distinct day, oldest first."""
    days: dict[Any, datetime] = {}
    for activity in activities:
        if activity.type in types:
            day = activity.occurred_at.date()
            if day not in days or activity.occurred_at < days[day]:
                days[day] = activity.occurred_at
    return sorted(days.values())


def return_visits(activities: Iterable[ActivityFact], window_days: int) -> list[datetime]:
    """Visits on a later day within ``window_days`` of the visit day before."""
    days = _visit_days(activities, VISIT_TYPES)
    return [later for earlier, later in zip(days, days[1:]) if later - earlier <= timedelta(days=window_days)]


def _ago(moment: datetime, now: datetime) -> str:
    seconds = max((now - moment).total_seconds(), 0)
    if seconds < 3600:
        return "just now" if seconds < 120 else f"{int(seconds // 60)} minutes ago"
    if seconds < 86400:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def grade_for(fit: int, cutoffs: tuple[int, int, int]) -> str:
    a, b, c = cutoffs
    return "A" if fit >= a else "B" if fit >= b else "C" if fit >= c else "D"


def evaluate(
    facts: LeadFacts,
    activities: list[ActivityFact],
    rules: RuleSet,
    now: datetime,
    *,
    criteria_id: int | None = None,
) -> Result:
    reasons: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    errors: list[tuple[str, str]] = []

    fit = 0
    for matcher in rules.fit:
        try:
            because = matcher.match(facts)
        except Exception as error:  # noqa: BLE001 - one broken rule must not stop scoring
            errors.append((f"fit rule {matcher.name!r}", f"{type(error).__name__}: {error}"[:500]))
            continue
        if because:
            fit += matcher.points
            reasons.append({"rule": matcher.name, "points": matcher.points, "because": because, "part": "fit"})
        elif matcher.points > 0:
            missed.append({"rule": matcher.name, "points": matcher.points, "part": "fit"})

    horizon = now - timedelta(days=rules.lookback_days)
    recent = [a for a in activities if a.occurred_at >= horizon]
    occurrences: dict[str, list[datetime]] = defaultdict(list)
    for activity in recent:
        signal = activity_signal(activity)
        if signal:
            occurrences[signal].append(activity.occurred_at)
    if Signal.RETURN_VISIT in rules.intent:
        occurrences[Signal.RETURN_VISIT] = return_visits(recent, rules.intent[Signal.RETURN_VISIT].window_days)

    intent_points = 0.0
    tier = Tier.NONE
    half_life_seconds = rules.half_life_days * 86400
    for signal, spec in rules.intent.items():
        moments = occurrences.get(signal)
        if not moments:
            if spec.points > 0:
                missed.append({"rule": SIGNAL_LABELS.get(signal, signal), "points": spec.points, "part": "intent"})
            continue
        raw = sum(spec.points * math.pow(0.5, max((now - m).total_seconds(), 0) / half_life_seconds)
                  for m in moments)
        capped = min(raw, spec.cap) if raw >= 0 else max(raw, -spec.cap)
        intent_points += capped
        if TIER_RANK[spec.tier] > TIER_RANK[tier]:
            tier = spec.tier
        count = len(moments)
        label = SIGNAL_LABELS.get(signal, signal)
        because = f"{count} × {label.lower()}, latest {_ago(max(moments), now)}"
        if capped != raw:
            because += f" (capped at {spec.cap})"
        reasons.append({"rule": label, "points": round(capped), "because": because, "part": "intent"})

    intent = round(intent_points)
    total = fit + intent
    criteria = rules.criteria_for(criteria_id)
    hot_because = hot_conditions(criteria, total=total, activities=recent, now=now) if criteria else []
    is_hot = bool(hot_because) and (criteria is not None)
    reasons.sort(key=lambda r: -abs(r["points"]))
    missed.sort(key=lambda r: -r["points"])
    return Result(fit=fit, intent=intent, total=total, grade=grade_for(fit, rules.grade_cutoffs), tier=tier,
                  is_hot=is_hot, reasons=reasons, missed=missed, hot_because=hot_because, errors=errors)


def hot_conditions(criteria: Criteria, *, total: int, activities: list[ActivityFact], now: datetime) -> list[str]:
    """The conditions that make the lead hot, in words; empty when it is not hot."""
    if not criteria.has_conditions:
        return []
    since = now - timedelta(days=criteria.within_days)
    window = [a for a in activities if a.occurred_at >= since]
    checks: list[tuple[bool, str]] = []
    if criteria.min_score is not None:
        checks.append((total >= criteria.min_score, f"score {total} ≥ {criteria.min_score}"))
    if criteria.form_types:
        hit = next((a for a in reversed(sorted(window, key=lambda a: a.occurred_at))
                    if a.type == "form_submit" and a.form_type in criteria.form_types), None)
        checks.append((hit is not None, f"{hit.form_type.replace('_', ' ')} form" if hit else ""))
    if criteria.source_ids:
        hit = next((a for a in window if a.type == "form_submit" and a.source_id in criteria.source_ids), None)
        checks.append((hit is not None, "from a hot source" if hit else ""))
    if criteria.on_trial_milestone:
        hit = next((a for a in window if a.type == "trial_milestone"), None)
        checks.append((hit is not None, f"trial milestone {hit.name}".strip() if hit else ""))
    if criteria.on_pricing_return_visit:
        days = _visit_days(window, {"pricing_page_view"})
        checks.append((len(days) >= 2, "came back to the pricing page"))
    held = [because for ok, because in checks if ok]
    if criteria.mode == "all":
        return held if len(held) == len(checks) else []
    return held
