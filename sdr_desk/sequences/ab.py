"""A/B variants of a step: how each did, and whether one has won yet.

Each lead that got a variant and did the step (the email sent, the call made) counts once in ``sent``; its
enrolment's outcome counts as a reply (stopped by the lead's reply), a connect (a connected call) or a
meeting (a meeting set). No winner is named while any variant has fewer than ``SEQUENCES_AB_MIN_SAMPLE``
(30) sent; above it, the best rate must beat every other variant's in a two-sided two-proportion z-test
at 95% (|z| >= 1.96, pooled standard error): a lead of a few points on small numbers is noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q

from sdr_desk.sequences.models import StepRunStatus, StepVariant

METRICS = (("reply", "reply", "replies"), ("connect", "connected call", "connects"), ("meeting", "meeting set", "meetings"))
Z_95 = 1.959964


def min_sample() -> int:
    return getattr(settings, "SEQUENCES_AB_MIN_SAMPLE", 30)


@dataclass
class VariantRates:
    variant: StepVariant
    sent: int
    counts: dict[str, int]

    def rate(self, metric: str) -> float | None:
        return self.counts[metric] / self.sent if self.sent else None

    @property
    def rates(self) -> dict[str, float | None]:
        return {metric: self.rate(metric) for metric, _, _ in METRICS}


@dataclass
class StepResult:
    variants: list[VariantRates]
    winners: dict[str, str] = field(default_factory=dict)  # metric: the winner's label, or why there is none
    won: dict[str, int | None] = field(default_factory=dict)  # metric: the winning variant's id


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """z of p1 - p2 with the pooled standard error; None when it is undefined (no sample, or 0% / 100% both)."""
    if not n1 or not n2:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return None if se == 0 else (x1 / n1 - x2 / n2) / se


def winner(variants: list[VariantRates], metric: str, *, sample: int | None = None) -> tuple[int | None, str]:
    """(the winning variant's id, what to show): a label only when it beats every other significantly."""
    sample = min_sample() if sample is None else sample
    if len(variants) < 2:
        return None, ""
    short = [v for v in variants if v.sent < sample]
    if short:
        return None, f"no winner yet: under {sample} sent for {', '.join(v.variant.label for v in short)}"
    best = max(variants, key=lambda v: (v.rate(metric), -v.variant.pk))
    for other in variants:
        if other is best:
            continue
        z = two_proportion_z(best.counts[metric], best.sent, other.counts[metric], other.sent)
        if z is None or z < Z_95:
            return None, f"no winner: {best.variant.label} vs {other.variant.label} is not significant at 95%"
    return best.variant.pk, f"{best.variant.label} wins (95%)"


def variant_results(template_ids: list[int]) -> dict[int, StepResult]:
    """Per step with variants (of these templates), each variant's sent and outcome counts: one query."""
    done = Q(runs__status=StepRunStatus.DONE)
    counts = {key: Count("runs", filter=done & Q(runs__enrollment__stop_reason=reason)) for key, reason, _ in METRICS}
    rows = (StepVariant.objects.filter(step__template_id__in=template_ids)
            .annotate(sent=Count("runs", filter=done), **{f"n_{key}": value for key, value in counts.items()})
            .order_by("step_id", "created_at", "id"))
    results: dict[int, StepResult] = {}
    for row in rows:
        results.setdefault(row.step_id, StepResult(variants=[])).variants.append(
            VariantRates(variant=row, sent=row.sent, counts={key: getattr(row, f"n_{key}") for key, _, _ in METRICS}))
    for result in results.values():
        for metric, _, _ in METRICS:
            result.won[metric], result.winners[metric] = winner(result.variants, metric)
    return results
