"""The backtest's metrics: pure functions of (score, verdict, label, rule outcomes), with seeded bootstrap intervals."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from screener.analysis.backtest.models import (
    CUTOFFS,
    BacktestReport,
    Case,
    Confusion,
    CutoffMetrics,
    Interval,
    PrecisionAtK,
    RuleMetrics,
    ScoreBin,
    VerdictRow,
)
from screener.screening.ranking import rank_key
from screener.screening.result import Outcome, Verdict


def measure(
    pack: str,
    version: str,
    rule_ids: Sequence[str],
    cases: Sequence[Case],
    ks: Sequence[int] = (5, 10, 20),
    resamples: int = 1000,
    seed: int = 0,
) -> BacktestReport:
    """Every metric of the report, with seeded bootstrap intervals. Pure."""
    positives = sum(c.label for c in cases)
    base = positives / len(cases) if cases else 0.0
    rng = random.Random(seed)  # noqa: S311 (resampling, not cryptography; seeded on purpose)
    samples = [[cases[rng.randrange(len(cases))] for _ in cases] for _ in range(resamples)] if cases else []

    def interval(statistic: Callable[[Sequence[Case]], float | None]) -> Interval:
        value = statistic(cases)
        values = sorted(v for v in (statistic(s) for s in samples) if v is not None)
        if value is None or not values:
            return Interval(value=_round(value))
        return Interval(
            value=_round(value), low=_round(_percentile(values, 2.5)), high=_round(_percentile(values, 97.5))
        )

    cutoffs = []
    for name, accepted in CUTOFFS.items():
        confusion = _confusion(cases, accepted)
        precision = interval(_on_confusion(accepted, _precision))
        cutoffs.append(
            CutoffMetrics(
                cutoff=name,
                confusion=confusion,
                precision=precision,
                recall=interval(_on_confusion(accepted, _recall)),
                f05=interval(_on_confusion(accepted, _f05)),
                lift=_lift(precision.value, base),
            )
        )
    at_k = []
    for k in ks:
        if k > len(cases):
            continue
        precision = interval(functools.partial(_precision_at_k, k=k))
        at_k.append(PrecisionAtK(k=k, precision=precision, lift=_lift(precision.value, base)))
    return BacktestReport(
        pack=pack,
        version=version,
        companies=len(cases),
        positives=positives,
        base_rate=round(base, 4),
        by_verdict=[
            VerdictRow(
                verdict=v,
                positive=sum(c.verdict is v and c.label for c in cases),
                negative=sum(c.verdict is v and not c.label for c in cases),
            )
            for v in Verdict
        ],
        cutoffs=cutoffs,
        precision_at_k=at_k,
        rules=[_rule_metrics(rule_id, cases) for rule_id in rule_ids],
        score_bins=_score_bins(cases),
        resamples=resamples,
        seed=seed,
    )


Statistic = Callable[[Sequence[Case]], float | None]


def _score_bins(cases: Sequence[Case]) -> list[ScoreBin]:
    counts = [[0, 0] for _ in range(10)]
    for case in cases:
        counts[min(int(case.score // 10), 9)][0 if case.label else 1] += 1
    return [ScoreBin(low=10 * i, high=10 * i + 10, positive=p, negative=n) for i, (p, n) in enumerate(counts)]


def _on_confusion(accepted: frozenset[Verdict], metric: Callable[[Confusion], float | None]) -> Statistic:
    def statistic(cases: Sequence[Case]) -> float | None:
        return metric(_confusion(cases, accepted))

    return statistic


def _confusion(cases: Sequence[Case], accepted: frozenset[Verdict]) -> Confusion:
    tp = fp = fn = tn = 0
    for case in cases:
        said_yes = case.verdict in accepted
        if said_yes and case.label:
            tp += 1
        elif said_yes:
            fp += 1
        elif case.label:
            fn += 1
        else:
            tn += 1
    return Confusion(true_positive=tp, false_positive=fp, false_negative=fn, true_negative=tn)


def _precision(c: Confusion) -> float | None:
    said_yes = c.true_positive + c.false_positive
    return c.true_positive / said_yes if said_yes else None


def _recall(c: Confusion) -> float | None:
    actual = c.true_positive + c.false_negative
    return c.true_positive / actual if actual else None


def _f_beta(c: Confusion, beta: float) -> float | None:
    p, r = _precision(c), _recall(c)
    if p is None or r is None or p + r == 0:
        return None if p is None or r is None else 0.0
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r)


def _f05(c: Confusion) -> float | None:
    return _f_beta(c, 0.5)


def _precision_at_k(cases: Sequence[Case], k: int) -> float | None:
    # Ranked as every view ranks (screening.ranking); a stable sort: ties keep input order.
    ranked = sorted(
        range(len(cases)),
        key=lambda i: rank_key(cases[i].verdict, cases[i].knocked_out, cases[i].score, cases[i].coverage),
    )[:k]
    return sum(cases[i].label for i in ranked) / k if len(ranked) == k else None


def _lift(precision: float | None, base: float) -> float | None:
    return round(precision / base, 2) if precision is not None and base else None


def _rule_metrics(rule_id: str, cases: Sequence[Case]) -> RuleMetrics:
    evaluable = [c for c in cases if c.outcomes[rule_id] is not Outcome.NOT_EVALUABLE]
    fired = [c for c in evaluable if c.outcomes[rule_id] is Outcome.MATCHED]
    return RuleMetrics(
        id=rule_id,
        coverage=round(len(evaluable) / len(cases), 4) if cases else 0.0,
        hit_rate=round(len(fired) / len(evaluable), 4) if evaluable else None,
        fired=len(fired),
        precision_when_fired=round(sum(c.label for c in fired) / len(fired), 4) if fired else None,
    )


def _percentile(values: Sequence[float], percent: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted values."""
    position = (len(values) - 1) * percent / 100
    lower = int(position)
    upper = min(lower + 1, len(values) - 1)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
