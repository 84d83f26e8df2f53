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

from screener.result import CategoryScore, Outcome, Verdict
from screener.rulebook import Rule, Rulebook


def outcome(rule: Rule, fact: Mapping[str, Any], fired: Collection[int]) -> tuple[Outcome, list[str]]:
    """A rule's outcome and the fields it misses.

    "Not evaluable" is decided here from the fields the rule compares, never inferred from the
    engine's silence: the engine treats every comparison on a missing field as false.
    """
    missing = [path for path in rule.reads if path not in fact]
    if missing:
        return Outcome.NOT_EVALUABLE, missing
    return (Outcome.MATCHED if rule.index in fired else Outcome.NOT_MATCHED), []


@dataclass(frozen=True)
class Tally:
    score: float
    verdict: Verdict
    coverage: float
    points: int
    knockouts: list[str]
    categories: list[CategoryScore]
    notes: list[str]


def tally(rulebook: Rulebook, outcomes: Sequence[Outcome]) -> Tally:
    """Score, verdict, coverage and per-category breakdown from every rule's outcome (pack order)."""
    rules = rulebook.rules
    evaluable = [o is not Outcome.NOT_EVALUABLE for o in outcomes]
    matched = [o is Outcome.MATCHED for o in outcomes]
    scored = [(r, m) for r, e, m in zip(rules, evaluable, matched, strict=True) if e and not r.knockout]
    best = sum(max(r.points, 0) for r, _ in scored)
    worst = sum(min(r.points, 0) for r, _ in scored)
    points = sum(r.points for r, m in scored if m)
    score = round(100 * (points - worst) / (best - worst), 1) if best > worst else 0.0
    total_weight = sum(rulebook.weight(r) for r in rules)
    weight = sum(rulebook.weight(r) for r, e in zip(rules, evaluable, strict=True) if e)
    coverage = round(weight / total_weight, 4) if total_weight else 0.0
    knockouts = [r.id for r, m in zip(rules, matched, strict=True) if m and r.knockout]
    verdict, notes = _verdict(rulebook, score, coverage, knockouts)
    return Tally(score, verdict, coverage, points, knockouts, _categories(rulebook, evaluable, matched), notes)


def _verdict(rulebook: Rulebook, score: float, coverage: float, knockouts: list[str]) -> tuple[Verdict, list[str]]:
    thresholds = rulebook.spec.thresholds
    if knockouts:
        return Verdict.PASS, [f"knocked out by {', '.join(knockouts)}"]
    if coverage < rulebook.spec.min_coverage:
        note = (
            f"only {coverage:.0%} of the pack's weight could be evaluated (minimum {rulebook.spec.min_coverage:.0%}): "
            "review until the open questions are answered"
        )
        return Verdict.REVIEW, [note]
    if score >= thresholds.strong_fit:
        return Verdict.STRONG_FIT, []
    if score >= thresholds.review:
        return Verdict.REVIEW, []
    return Verdict.PASS, []


def _categories(rulebook: Rulebook, evaluable: Sequence[bool], matched: Sequence[bool]) -> list[CategoryScore]:
    result = []
    for category in rulebook.categories:
        members = [
            (r, e, m) for r, e, m in zip(rulebook.rules, evaluable, matched, strict=True) if r.spec.category == category
        ]
        result.append(
            CategoryScore(
                category=category,
                points=sum(r.points for r, _, m in members if m and not r.knockout),
                best=sum(max(r.points, 0) for r, e, _ in members if e and not r.knockout),
                worst=sum(min(r.points, 0) for r, e, _ in members if e and not r.knockout),
                matched=sum(m for _, _, m in members),
                evaluable=sum(e for _, e, _ in members),
                rules=len(members),
            )
        )
    return result
