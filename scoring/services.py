"""Scoring's state changes: publishing rule versions and (re)scoring leads.

``lead_rescore`` is the one way a lead's score changes; the bulk path uses the
same engine and writes the same timeline entries, set-based per batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.module_loading import import_string

from inbound.models import Activity, Lead, LeadStatus, TimelineEntry
from inbound.timeline import timeline_entry, timeline_record_many
from scoring import defaults
from scoring.engine import ActivityFact, Criteria, LeadFacts, Result, RuleSet, compile_ruleset, evaluate
from scoring.models import (
    FitRule,
    HotLeadCriteria,
    IntentRule,
    LeadScore,
    RuleFailure,
    RuleSetVersion,
    ScoringSettings,
)

logger = logging.getLogger(__name__)

SCORE_KIND = "score"
OPEN_STATUSES = [LeadStatus.NEW, LeadStatus.WORKING]


# --- rules and versions -----------------------------------------------------------------


def ruleset_snapshot() -> dict[str, Any]:
    """Every active rule and setting as plain data: what a version freezes."""
    settings_row = ScoringSettings.load()
    criteria = list(HotLeadCriteria.objects.prefetch_related("sources"))
    return {
        "settings": {
            "half_life_days": settings_row.half_life_days,
            "lookback_days": settings_row.lookback_days,
            "grade_a_min": settings_row.grade_a_min,
            "grade_b_min": settings_row.grade_b_min,
            "grade_c_min": settings_row.grade_c_min,
        },
        "fit": [
            {"id": r.pk, "name": r.name, "kind": r.kind, "values": r.values, "min_value": r.min_value,
             "max_value": r.max_value, "points": r.points}
            for r in FitRule.objects.filter(is_active=True)
        ],
        "intent": [
            {"signal": r.signal, "points": r.points, "cap": r.cap, "tier": r.tier, "window_days": r.window_days}
            for r in IntentRule.objects.filter(is_active=True)
        ],
        "criteria": [
            {"id": c.pk, "name": c.name, "mode": c.mode, "min_score": c.min_score, "form_types": c.form_types,
             "source_ids": sorted(s.pk for s in c.sources.all()), "on_trial_milestone": c.on_trial_milestone,
             "on_pricing_return_visit": c.on_pricing_return_visit, "within_days": c.within_days}
            for c in criteria
        ],
        "default_criteria_id": next((c.pk for c in criteria if c.is_default), None),
    }


@transaction.atomic
def ruleset_publish(*, user: AbstractBaseUser | None = None, note: str = "") -> RuleSetVersion:
    """Freeze the current rules as the next version; scores computed from now on name it."""
    ScoringSettings.load()
    ScoringSettings.objects.select_for_update().get(pk=1)  # serialises version numbering
    latest = RuleSetVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0
    snapshot = ruleset_snapshot()
    snapshot["version"] = latest + 1
    version = RuleSetVersion.objects.create(number=latest + 1, snapshot=snapshot, note=note[:200],
                                            created_by=user)
    global _latest_seen
    _latest_seen = None  # this process uses the new version at once
    return version


_compiled: dict[int, RuleSet] = {}
_compiled_lock = threading.Lock()
_latest_seen: tuple[int, float] | None = None


def ruleset_current() -> RuleSet:
    """The latest published rule set, compiled once per process and version.

    Which version is latest is asked of the database at most every
    SCORING_RULES_TTL_SECONDS per process: other workers see a publish within
    that time, and a hot intake path saves a query per lead.
    """
    global _latest_seen
    ttl = getattr(settings, "SCORING_RULES_TTL_SECONDS", 2)
    latest: int | None = None
    if _latest_seen is not None and time.monotonic() - _latest_seen[1] < ttl:
        latest = _latest_seen[0]
    if latest is None:
        latest = RuleSetVersion.objects.order_by("-number").values_list("pk", flat=True).first()
        if latest is None:
            latest = ruleset_publish(note="initial rules").pk
        _latest_seen = (latest, time.monotonic())
    # Keyed by primary key, not number: a key is never reused, even after a rollback.
    ruleset = _compiled.get(latest)
    if ruleset is None:
        ruleset = compile_ruleset(RuleSetVersion.objects.get(pk=latest).snapshot)
        with _compiled_lock:
            _compiled.clear()
            _compiled[latest] = ruleset
    return ruleset


def defaults_ensure(**kwargs: Any) -> None:
    """Seed the default rules on an empty desk (post_migrate); never touches edited rules."""
    ScoringSettings.load()
    if not FitRule.objects.exists():
        FitRule.objects.bulk_create([FitRule(position=i, **rule) for i, rule in enumerate(defaults.FIT_RULES)])
    if not IntentRule.objects.exists():
        IntentRule.objects.bulk_create([IntentRule(**rule) for rule in defaults.INTENT_RULES])
    if not HotLeadCriteria.objects.exists():
        HotLeadCriteria.objects.create(**defaults.DEFAULT_CRITERIA)
    if not RuleSetVersion.objects.exists():
        ruleset_publish(note="default rules")


# --- facts -------------------------------------------------------------------------------


def _tech(custom: Any) -> tuple[str, ...]:
    value = (custom or {}).get("tech_stack") if isinstance(custom, dict) else None
    if isinstance(value, str):
        return tuple(t.strip() for t in value.replace(";", ",").split(",") if t.strip())
    if isinstance(value, list):
        return tuple(str(t).strip() for t in value if str(t).strip())
    return ()


FACT_FIELDS = ["id", "email", "job_title", "industry", "employee_count", "country", "is_personal_email", "custom",
               "source_id", "account__industry", "account__employee_count", "account__country"]


def facts_from_row(row: dict[str, Any]) -> LeadFacts:
    """LeadFacts from a ``values(*FACT_FIELDS)`` row: the lead's own data first, the account's to fill gaps."""
    return LeadFacts(
        email=row["email"],
        job_title=row["job_title"] or "",
        industry=row["industry"] or row["account__industry"] or "",
        employee_count=row["employee_count"] if row["employee_count"] is not None else row["account__employee_count"],
        country=row["country"] or row["account__country"] or "",
        is_personal_email=row["is_personal_email"],
        tech=_tech(row["custom"]),
        source_id=row["source_id"],
    )


ACTIVITY_FIELDS = ["lead_id", "type", "form_type", "occurred_at", "source_id", "name"]


def _activity_fact(row: dict[str, Any]) -> ActivityFact:
    return ActivityFact(type=row["type"], form_type=row["form_type"], occurred_at=row["occurred_at"],
                        source_id=row["source_id"], name=row["name"])


# --- one lead ------------------------------------------------------------------------------


def _summary(before: LeadScore | None, after: Result, *, trigger: str) -> tuple[str, dict[str, Any]] | None:
    """The timeline line for a change of score, grade, tier or heat; None when nothing changed."""
    old = {"total": before.total, "fit": before.fit, "intent": before.intent, "grade": before.grade,
           "tier": before.tier, "is_hot": before.is_hot} if before else None
    new = {"total": after.total, "fit": after.fit, "intent": after.intent, "grade": after.grade, "tier": after.tier,
           "is_hot": after.is_hot}
    if old is not None and all(old[k] == new[k] for k in ("total", "grade", "tier", "is_hot")):
        return None
    parts = []
    if old is None:
        parts.append(f"Scored {after.total} (fit {after.fit}, intent {after.intent}), grade {after.grade}, "
                     f"{after.tier.replace('_', '-')}")
    else:
        if old["total"] != new["total"]:
            verb = "Intent faded: score" if trigger == "decay" else "Score"
            parts.append(f"{verb} {old['total']} → {new['total']}")
        if old["grade"] != new["grade"]:
            parts.append(f"grade {old['grade']} → {new['grade']}")
        if old["tier"] != new["tier"]:
            parts.append(f"tier {old['tier'].replace('_', '-')} → {new['tier'].replace('_', '-')}")
    if after.is_hot and (old is None or not old["is_hot"]):
        parts.append("now hot: " + ", ".join(after.hot_because))
    elif old is not None and old["is_hot"] and not after.is_hot:
        parts.append("no longer hot")
    return "; ".join(parts), {"before": old, "after": new, "trigger": trigger,
                              "reasons": after.reasons[:8], "hot_because": after.hot_because}


def _hot_since(before: LeadScore | None, result: Result, now: datetime, *, restart: bool) -> datetime | None:
    if not result.is_hot:
        return None
    if before is None or not before.is_hot or before.hot_since is None or restart:
        return now
    return before.hot_since


def criteria_for_leads(lead_ids: list[int]) -> dict[int, int]:
    """Which hot-lead criteria apply to each lead, as the desk says (settings.SCORING_CRITERIA_RESOLVER).

    Scoring does not know teams; the desk names a function that maps leads to
    their team's criteria. Leads missing from the answer use the default.
    """
    path = getattr(settings, "SCORING_CRITERIA_RESOLVER", "")
    if not path or not lead_ids:
        return {}
    return import_string(path)(lead_ids)


def _latest_is_hot_trigger(activities: list[ActivityFact], criteria: Criteria | None) -> bool:
    """Whether the newest activity makes the lead hot on its own: a returning hand-raiser."""
    if criteria is None or not activities:
        return False
    latest = max(activities, key=lambda a: a.occurred_at)
    if latest.type == "form_submit":
        return latest.form_type in criteria.form_types or latest.source_id in criteria.source_ids
    return latest.type == "trial_milestone" and criteria.on_trial_milestone


def _record_failures(errors: list[tuple[str, str]]) -> None:
    now = timezone.now()
    for rule, message in errors:
        failure, created = RuleFailure.objects.get_or_create(rule=rule, message=message)
        RuleFailure.objects.filter(pk=failure.pk).update(count=F("count") + 1, last_seen_at=now)


SCORE_FIELDS = ["fit", "intent", "total", "grade", "tier", "is_hot", "hot_since", "reasons", "missed",
                "hot_because", "version", "computed_at"]


def _derived_data_commit() -> None:
    """Commit this transaction without waiting for the disk flush.

    A score is derived data: it can be recomputed at any time from the
    submissions and activities, and the nightly rescore does. Losing the last
    few milliseconds of score writes in a database crash costs nothing, and
    not waiting for the fsync is most of what scoring would add to intake.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _derived_data_commit_annotation() -> dict[str, RawSQL]:
    """``_derived_data_commit`` riding on a query this transaction sends anyway, to save its round trip.

    ``set_config(name, value, true)`` is ``SET LOCAL`` as a function; the
    query it is added to must return exactly one row for it to run once.
    """
    if connection.vendor != "postgresql":
        return {}
    return {"derived_data_commit": RawSQL("set_config('synchronous_commit', 'off', true)", ())}


BEFORE_FIELDS = ["fit", "intent", "total", "grade", "tier", "is_hot", "hot_since"]


def _scores_upsert(scores: list[LeadScore]) -> None:
    LeadScore.objects.bulk_create(scores, update_conflicts=True, unique_fields=["lead"], update_fields=SCORE_FIELDS,
                                  batch_size=1000)


@transaction.atomic
def lead_rescore(
    lead_id: int,
    *,
    trigger: str = "activity",
    criteria_id: int | None = None,
    restart_clock: bool = False,
    now: datetime | None = None,
) -> LeadScore:
    """Score one lead and store it; every change lands in its timeline.

    ``restart_clock`` is set when a new conversion itself makes the lead hot:
    the speed-to-lead clock of a returning lead restarts at ``hot_since``.
    Takes a fixed number of queries whatever the number of rules and
    activities: the lead's facts and current score (its row locked, so two
    rescores of one lead queue up; the activities are read after the lock, so
    a rescore that waited still sees every activity committed meanwhile), its
    activities, one upsert, one timeline insert when something changed.
    """
    now = now or timezone.now()
    rules = ruleset_current()
    if criteria_id is None:
        criteria_id = criteria_for_leads([lead_id]).get(lead_id)
    derived_data_commit = _derived_data_commit_annotation()
    row = (
        Lead.objects.select_for_update(of=("self",)).filter(pk=lead_id)
        .annotate(**derived_data_commit)
        .values(*FACT_FIELDS, *(f"score__{name}" for name in BEFORE_FIELDS), *derived_data_commit)
        .get()
    )
    horizon = now - timedelta(days=rules.lookback_days)
    activities = [_activity_fact(a) for a in
                  Activity.objects.filter(lead_id=lead_id, occurred_at__gte=horizon).values(*ACTIVITY_FIELDS)]
    result = evaluate(facts_from_row(row), activities, rules, now, criteria_id=criteria_id)
    before = None
    if row["score__fit"] is not None:
        before = LeadScore(lead_id=lead_id, **{name: row[f"score__{name}"] for name in BEFORE_FIELDS})
    changed = _summary(before, result, trigger=trigger)
    restart = restart_clock and _latest_is_hot_trigger(activities, rules.criteria_for(criteria_id))
    hot_since = _hot_since(before, result, now, restart=restart)
    score = before or LeadScore(lead_id=lead_id)
    _apply(score, result, rules.version, now, hot_since=hot_since)
    _scores_upsert([score])
    if changed is not None:
        summary, data = changed
        timeline_record_many([timeline_entry(lead=Lead(pk=lead_id), kind=SCORE_KIND, summary=summary,
                                             actor_label="scoring", data=data, occurred_at=now)])
    if result.errors:
        _record_failures(result.errors)
    return score


def _apply(score: LeadScore, result: Result, version: int, now: datetime, *, hot_since: datetime | None) -> None:
    score.fit, score.intent, score.total = result.fit, result.intent, result.total
    score.grade, score.tier, score.is_hot = result.grade, result.tier, result.is_hot
    score.hot_since = hot_since
    score.reasons, score.missed, score.hot_because = result.reasons, result.missed, result.hot_because
    score.version, score.computed_at = version, now


# --- many leads ----------------------------------------------------------------------------


def leads_rescore_bulk(
    *,
    lead_ids: Iterable[int] | None = None,
    open_only: bool = True,
    trigger: str = "decay",
    batch_size: int = 2000,
    now: datetime | None = None,
) -> dict[str, int]:
    """Rescore many leads: four queries and one transaction per batch, never one query per lead.

    Used by the nightly decay and after a rules change. Writes the same
    timeline entries as ``lead_rescore``.
    """
    now = now or timezone.now()
    rules = ruleset_current()
    horizon = now - timedelta(days=rules.lookback_days)
    leads = Lead.objects.order_by("pk")
    if open_only:
        leads = leads.filter(status__in=OPEN_STATUSES)
    if lead_ids is not None:
        leads = leads.filter(pk__in=list(lead_ids))
    counts = {"scored": 0, "changed": 0}
    last_pk = 0
    while True:
        rows = list(leads.filter(pk__gt=last_pk).values(*FACT_FIELDS)[:batch_size])
        if not rows:
            break
        last_pk = rows[-1]["id"]
        ids = [r["id"] for r in rows]
        activities: dict[int, list[ActivityFact]] = defaultdict(list)
        for a in Activity.objects.filter(lead_id__in=ids, occurred_at__gte=horizon).values(*ACTIVITY_FIELDS):
            activities[a["lead_id"]].append(_activity_fact(a))
        criteria = criteria_for_leads(ids)
        with transaction.atomic():
            _derived_data_commit()
            # Only what the comparison needs: decoding every stored reason list would cost more than scoring.
            existing = {s.lead_id: s for s in LeadScore.objects.select_for_update().filter(lead_id__in=ids)
                        .only("lead_id", "fit", "intent", "total", "grade", "tier", "is_hot", "hot_since")}
            scores, entries = [], []
            errors: list[tuple[str, str]] = []
            for row in rows:
                result = evaluate(facts_from_row(row), activities.get(row["id"], []), rules, now,
                                  criteria_id=criteria.get(row["id"]))
                errors += result.errors
                before = existing.get(row["id"])
                changed = _summary(before, result, trigger=trigger)
                score = before or LeadScore(lead_id=row["id"])
                _apply(score, result, rules.version, now, hot_since=_hot_since(before, result, now, restart=False))
                scores.append(score)
                if changed is not None:
                    entries.append(timeline_entry(lead=Lead(pk=row["id"]), kind=SCORE_KIND, summary=changed[0],
                                                  actor_label="scoring", data=changed[1], occurred_at=now))
            _scores_upsert(scores)
            TimelineEntry.objects.bulk_create(entries, batch_size=1000)
            if errors:
                _record_failures(sorted(set(errors)))
        counts["scored"] += len(rows)
        counts["changed"] += len(entries)
    return counts


# --- what-if -------------------------------------------------------------------------------


def whatif_preview(draft: dict[str, Any], *, days: int = 90, now: datetime | None = None) -> dict[str, Any]:
    """How the last ``days`` of leads score under ``draft`` beside the current rules; writes nothing.

    ``draft`` is a snapshot (``ruleset_snapshot()`` shape). Outcomes are the
    leads' statuses, so once dispositions exist a manager sees whether a draft
    would have made hot the leads that went on to qualify.
    """
    now = now or timezone.now()
    current = ruleset_current()
    proposed = compile_ruleset({**draft, "version": 0})
    horizon = now - timedelta(days=max(current.lookback_days, proposed.lookback_days))
    rows = list(Lead.objects.filter(created_at__gte=now - timedelta(days=days)).values(*FACT_FIELDS, "status"))
    activities: dict[int, list[ActivityFact]] = defaultdict(list)
    ids = [r["id"] for r in rows]
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start:chunk_start + 5000]
        for a in Activity.objects.filter(lead_id__in=chunk, occurred_at__gte=horizon).values(*ACTIVITY_FIELDS):
            activities[a["lead_id"]].append(_activity_fact(a))

    def empty() -> dict[str, Any]:
        return {"grades": {g: 0 for g in "ABCD"}, "tiers": {t: 0 for t in ("hand_raiser", "researcher", "light",
                                                                              "none")},
                "hot": 0, "outcomes": defaultdict(lambda: defaultdict(int)), "errors": set()}

    result = {"current": empty(), "draft": empty()}
    moved = 0
    for row in rows:
        facts = facts_from_row(row)
        verdicts = {}
        for name, rules in (("current", current), ("draft", proposed)):
            r = evaluate(facts, activities.get(row["id"], []), rules, now)
            bucket = result[name]
            bucket["grades"][r.grade] += 1
            bucket["tiers"][r.tier] += 1
            bucket["hot"] += r.is_hot
            bucket["outcomes"]["hot" if r.is_hot else "not_hot"][row["status"]] += 1
            bucket["errors"].update(rule for rule, _ in r.errors)
            verdicts[name] = (r.grade, r.is_hot)
        moved += verdicts["current"] != verdicts["draft"]
    for bucket in result.values():
        bucket["outcomes"] = {k: dict(v) for k, v in bucket["outcomes"].items()}
        bucket["errors"] = sorted(bucket["errors"])
    return {"leads": len(rows), "days": days, "changed": moved, **result}
