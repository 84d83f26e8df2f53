"""Pure functions from rule outcomes to score, verdict and coverage. No I/O, no engine.

The score places the points a company earned between the worst and the best it could have
earned from the rules that could be evaluated: 0 is every negative rule matched and no
positive one, 100 the opposite. Coverage is the share of the pack's rule weight (|points|,
knockouts weighing as much as the heaviest rule) that could be evaluated. The verdict follows
the pack's thresholds, except that a knockout always means pass and too little coverage means
review: the data supports neither a strong fit nor a pass.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from screener.rules import conditions
from screener.rules.rulebook import Rulebook
from screener.screening.result import Outcome, Verdict
from screener.texts import format_percent


def outcomes(rulebook: Rulebook, fact: Mapping[str, Any], fired: Collection[int]) -> list[tuple[Outcome, list[str]]]:
    """Every rule's outcome and the fields it misses, in pack order.

    "Not evaluable" is decided here from the fields a rule compares, never inferred from the
    engine's silence: the engine treats every comparison on a missing field as false. A rule
    that misses a field is still decided when the fields it has settle its condition whatever
    the missing one holds (:func:`~screener.rules.conditions.decide`): a Series B company's
    ``stage in ["seed"] and funding.total_raised > "$15M"`` does not match, raised what it may.
    """
    matched, not_matched, not_evaluable = Outcome.MATCHED, Outcome.NOT_MATCHED, Outcome.NOT_EVALUABLE
    absent = {path for path in rulebook.compared if path not in fact}
    rules = rulebook.rules
    result = []
    for index, reads in enumerate(rulebook.reads):
        if absent and not absent.isdisjoint(reads) and conditions.decide(rules[index].condition, fact) is None:
            result.append((not_evaluable, [path for path in reads if path in absent]))
        else:
            result.append((matched if index in fired else not_matched, []))
    return result


def decided_despite(rulebook: Rulebook, absent: Collection[str]) -> tuple[tuple[int, conditions.Node], ...]:
    """The rules that miss a field in ``absent`` but whose other fields might settle them, with their conditions."""
    return tuple(
        (index, rule.condition)
        for index, (rule, reads) in enumerate(zip(rulebook.rules, rulebook.reads, strict=True))
        if not set(absent).isdisjoint(reads) and conditions.decidable(rule.condition, absent)
    )


@dataclass(slots=True)
class CategoryTotals:
    category: str
    points: int = 0  #: earned by matched scored rules
    best: int = 0  #: the most the evaluable scored rules could earn
    worst: int = 0  #: the fewest the evaluable scored rules could earn
    matched: int = 0
    evaluable: int = 0
    rules: int = 0


@dataclass(frozen=True)
class Tally:
    score: float
    verdict: Verdict
    coverage: float
    points: int
    knockouts: list[str]
    categories: list[CategoryTotals]
    notes: list[str]


def tally(rulebook: Rulebook, outcomes: Sequence[Outcome]) -> Tally:
    """Score, verdict, coverage and per-category breakdown from every rule's outcome (pack order).

    One pass over the rules: this runs once per profile in a batch of millions.
    """
    categories = {name: CategoryTotals(name) for name in rulebook.categories}
    best = worst = points = weight = 0
    knockouts = []
    not_evaluable, matched_outcome = Outcome.NOT_EVALUABLE, Outcome.MATCHED
    for (rule_id, category, value, knockout, rule_weight), result in zip(rulebook.table, outcomes, strict=True):
        totals = categories[category]
        totals.rules += 1
        if result is not_evaluable:
            continue
        weight += rule_weight
        totals.evaluable += 1
        matched = result is matched_outcome
        totals.matched += matched
        if knockout:
            if matched:
                knockouts.append(rule_id)
            continue
        if value > 0:
            best += value
            totals.best += value
        else:
            worst += value
            totals.worst += value
        if matched:
            points += value
            totals.points += value
    score = round(100 * (points - worst) / (best - worst), 1) if best > worst else 0.0
    total_weight = rulebook.total_weight
    coverage = round(weight / total_weight, 4) if total_weight else 0.0
    verdict, notes = verdict_of(rulebook, score, coverage, knockouts)
    return Tally(score, verdict, coverage, points, knockouts, list(categories.values()), notes)


def verdict_of(rulebook: Rulebook, score: float, coverage: float, knockouts: list[str]) -> tuple[Verdict, list[str]]:
    """The verdict and the notes explaining it, from the score, the coverage and the matched knockouts."""
    thresholds = rulebook.spec.thresholds
    if knockouts:
        return Verdict.PASS, [f"knocked out by {', '.join(knockouts)}"]
    if coverage < rulebook.spec.min_coverage:
        note = (
            f"only {format_percent(coverage)} of the pack's weight could be evaluated "
            f"(minimum {format_percent(rulebook.spec.min_coverage)}): "
            "review until the open questions are answered"
        )
        return Verdict.REVIEW, [note]
    if score >= thresholds.strong_fit:
        return Verdict.STRONG_FIT, []
    if score >= thresholds.review:
        return Verdict.REVIEW, []
    return Verdict.PASS, []
