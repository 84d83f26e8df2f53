"""Pure functions from rule outcomes to score, verdict and coverage. No I/O, no engine.

The score places the points a company earned between the worst and the best it could have
earned from the rules that could be evaluated: 0 is every negative rule matched and no
positive one, 100 the opposite. Coverage is the share of the pack's rule weight (|points|,
knockouts weighing as much as the heaviest rule) that could be evaluated. The verdict follows
the pack's thresholds, except that a knockout always means pass and too little coverage means
review: the data supports neither a strong fit nor a pass.

The score range says how far the rules that could not be evaluated might still move the score:
the worst case counts every open rule the worst way for the company (a positive rule unmatched,
a negative rule or a knockout matched), the best case the best way, each scored and judged by the
same functions as the score (:func:`score_of`, the verdict of :func:`verdict_of`) from the totals
the open rules move (:func:`case`). A rule is open when a missing field decides it, or when filling in the missing fields
could still change what it decided (a rule reading the completeness figure, which every answer
raises: :func:`swinging`). Once every open rule is known, coverage is what the evaluable rules had
plus the weight of the open ones, and the verdict follows from the worst and best score with the
knockouts each case matches: an open knockout makes the worst case pass, never the best.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from screener.profile.derived import COMPLETENESS_FIELDS
from screener.rules import conditions
from screener.rules.rulebook import COMPLETENESS, Rulebook
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


@dataclass(frozen=True, slots=True)
class Range:
    """The score and verdict once every open rule is known, the worst and the best way for the company."""

    worst: float
    best: float
    worst_verdict: Verdict
    best_verdict: Verdict


@dataclass(frozen=True)
class Tally:
    score: float
    verdict: Verdict
    coverage: float
    points: int
    knockouts: list[str]
    categories: list[CategoryTotals]
    notes: list[str]
    range: Range
    totals: Totals


def tally(rulebook: Rulebook, outcomes: Sequence[Outcome], swing: Collection[int] = ()) -> Tally:
    """Score, verdict, coverage, per-category breakdown and score range from every rule's outcome (pack order).

    ``swing``: evaluated rules whose outcome the missing fields could still change (:func:`swinging`).
    """
    core = _tally(rulebook, outcomes)
    span = score_range(rulebook, outcomes, swing, (core.score, core.verdict, core.coverage, core.totals))
    note = range_note(rulebook, core.verdict, core.coverage, span, outcomes)
    return Tally(core.score, core.verdict, core.coverage, core.points, core.knockouts, core.categories,
                 [*core.notes, note] if note else core.notes, span, core.totals)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Core:
    score: float
    verdict: Verdict
    coverage: float
    points: int
    knockouts: list[str]
    categories: list[CategoryTotals]
    notes: list[str]
    totals: Totals


@dataclass(frozen=True, slots=True)
class Totals:
    """What a score and verdict are computed from: earned points, the best and worst the evaluable
    scored rules allow, the evaluable weight, and how many knockouts matched."""

    points: int
    best: int
    worst: int
    weight: int
    knockouts: int


def _tally(rulebook: Rulebook, outcomes: Sequence[Outcome]) -> _Core:
    """Score, verdict, coverage and per-category breakdown: one pass over the rules."""
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
    score = score_of(points, best, worst)
    total_weight = rulebook.total_weight
    coverage = round(weight / total_weight, 4) if total_weight else 0.0
    verdict, notes = verdict_of(rulebook, score, coverage, knockouts)
    return _Core(score, verdict, coverage, points, knockouts, list(categories.values()), notes,
                 Totals(points, best, worst, weight, len(knockouts)))  # fmt: skip


def score_of(points: int, best: int, worst: int) -> float:
    """Where ``points`` fall between the worst and the best the evaluable rules allow, 0–100."""
    return round(100 * (points - worst) / (best - worst), 1) if best > worst else 0.0


def case(
    rulebook: Rulebook,
    totals: Totals,
    outcomes: Sequence[Outcome],
    opened: Iterable[int],
    worst: bool,
    allowed: Mapping[int, Collection[Outcome]] | None = None,
) -> tuple[float, Verdict]:
    """Score and verdict with every rule in ``opened`` decided the worst (or best) way for the company.

    Worst: a positive rule does not match, a negative rule or a knockout does. A rule of no points
    changes nothing either way and is left unmatched. ``allowed``: per rule, the outcomes it can
    still come to (both when not given): the preferred one when allowed, else the other. The
    totals of ``outcomes`` (:class:`Totals`) are moved by the opened rules only, as :func:`tally`
    would count them: a batch computes this for every company.
    """
    points, best, low, weight, knocked = totals.points, totals.best, totals.worst, totals.weight, totals.knockouts
    table, matched, not_matched, ne = rulebook.table, Outcome.MATCHED, Outcome.NOT_MATCHED, Outcome.NOT_EVALUABLE
    for index in opened:
        _, _, value, knockout, rule_weight = table[index]
        # Whether the rule matches in this case.
        hit = (knockout or value < 0) if worst else (value > 0 and not knockout)
        if allowed is not None and index in allowed and (matched if hit else not_matched) not in allowed[index]:
            hit = not hit
        now = outcomes[index]
        if now is ne:  # counted in from nothing
            weight += rule_weight
            if knockout:
                knocked += hit
                continue
            if value > 0:
                best += value
            else:
                low += value
            if hit:
                points += value
        elif (now is matched) is not hit:  # evaluated, and the other way now
            if knockout:
                knocked += 1 if hit else -1
            else:
                points += value if hit else -value
    score = score_of(points, best, low)
    total = rulebook.total_weight
    coverage = round(weight / total, 4) if total else 0.0
    return score, _verdict(rulebook, score, coverage, knocked > 0)


def open_rules(outcomes: Sequence[Outcome], swing: Collection[int] = ()) -> list[int]:
    """The rules whose outcome is not settled: the not-evaluable ones and ``swing``, in pack order."""
    ne = Outcome.NOT_EVALUABLE
    return sorted({*(index for index, result in enumerate(outcomes) if result is ne), *swing})


def score_range(
    rulebook: Rulebook,
    outcomes: Sequence[Outcome],
    swing: Collection[int] = (),
    base: tuple[float, Verdict, float, Totals] | None = None,
) -> Range:
    """The score and verdict in the worst and the best case (see the module docstring).

    ``base``: the score, verdict, coverage and totals of ``outcomes``, when already computed.
    """
    if base is None:
        core = _tally(rulebook, outcomes)
        base = (core.score, core.verdict, core.coverage, core.totals)
    score, verdict, _, totals = base
    opened = open_rules(outcomes, swing)
    if not opened:
        return Range(score, score, verdict, verdict)
    low, low_verdict = case(rulebook, totals, outcomes, opened, worst=True)
    high, high_verdict = case(rulebook, totals, outcomes, opened, worst=False)
    return Range(low, high, low_verdict, high_verdict)


def could_change(
    rulebook: Rulebook,
    totals: Totals,
    outcomes: Sequence[Outcome],
    verdict: Verdict,
    answered: Mapping[int, Collection[Outcome]],
) -> bool:
    """Whether deciding the rules ``answered`` (and no other open rule) could give another verdict than ``verdict``.

    ``answered``: per rule, the outcomes the answer could bring it to; ``totals`` those of ``outcomes``.
    """
    if not answered:
        return False
    if case(rulebook, totals, outcomes, answered, True, answered)[1] is not verdict:
        return True
    return case(rulebook, totals, outcomes, answered, False, answered)[1] is not verdict


def _verdict(rulebook: Rulebook, score: float, coverage: float, knocked: bool) -> Verdict:
    """The verdict (:func:`verdict_of` adds the notes): a knockout means pass, too little coverage review."""
    if knocked:
        return Verdict.PASS
    if coverage < rulebook.spec.min_coverage:
        return Verdict.REVIEW
    thresholds = rulebook.spec.thresholds
    if score >= thresholds.strong_fit:
        return Verdict.STRONG_FIT
    return Verdict.REVIEW if score >= thresholds.review else Verdict.PASS


def range_note(
    rulebook: Rulebook, verdict: Verdict, coverage: float, span: Range, outcomes: Sequence[Outcome]
) -> str | None:
    """What the note on a result whose verdict the open rules could change says; None when they cannot."""
    if span.worst_verdict is verdict and span.best_verdict is verdict:
        return None
    thresholds = rulebook.spec.thresholds
    said = f"verdict could change: {span.worst:.1f}\u2013{span.best:.1f}"
    crossed = [
        f"the {name} threshold {number:g}"
        for name, number in (("review", thresholds.review), ("strong-fit", thresholds.strong_fit))
        if span.worst < number <= span.best
    ]
    reasons = [f"spans {' and '.join(crossed)}"] if crossed else []
    ne = Outcome.NOT_EVALUABLE
    knockouts = [row[0] for row, result in zip(rulebook.table, outcomes, strict=True) if row[3] and result is ne]
    if knockouts and span.worst_verdict is Verdict.PASS:
        reasons.append(f"a knockout not evaluated ({', '.join(knockouts)}) would make it pass")
    if verdict is Verdict.REVIEW and coverage < rulebook.spec.min_coverage:
        reasons.append(
            f"review only until enough is known: {span.worst_verdict.value} in the worst case, "
            f"{span.best_verdict.value} in the best"
        )
    return (
        f"{said} {'; '.join(reasons)}"
        if reasons
        else f"{said}: {span.worst_verdict.value} to {span.best_verdict.value}"
    )


def swinging(
    rulebook: Rulebook, fact: Mapping[str, Any], outcomes: Sequence[Outcome] | Mapping[int, Outcome], filled: int
) -> frozenset[int]:
    """Evaluated rules reading the completeness figure that answering the missing fields could flip.

    Completeness counts the key fields filled in (``filled`` now), so each answer raises it by one
    step: the rule's condition is decided at every figure the answers can reach. ``outcomes``: at
    least those of the completeness rules, by rule index.
    """
    steps = len(COMPLETENESS_FIELDS)
    rules = rulebook.completeness_rules
    if filled >= steps or not rules:
        return frozenset()
    memo, others = rulebook.completeness_memo, rulebook.completeness_others
    found = set()
    for index in rules:
        now = outcomes[index]
        if now is Outcome.NOT_EVALUABLE:
            continue
        condition = rulebook.rules[index].condition
        # What decides it: the figures it can reach (from ``filled``), its outcome, its other fields.
        key = (index, filled, now, *(fact.get(p) for p in others[index]))
        flips = memo.get(key)
        if flips is None:
            encode = rulebook.schema.fields[COMPLETENESS].encode
            probe = dict(fact)
            flips = False
            for count in range(filled + 1, steps + 1):
                probe[COMPLETENESS] = encode(round(count / steps, 4))
                if conditions.decide(condition, probe) is not (now is Outcome.MATCHED):
                    flips = True
                    break
            if len(memo) < 100_000:  # bounded: the keys are few for the packs seen, but a pack may read anything
                memo[key] = flips
        if flips:
            found.add(index)
    return frozenset(found)


def verdict_of(rulebook: Rulebook, score: float, coverage: float, knockouts: list[str]) -> tuple[Verdict, list[str]]:
    """The verdict and the notes explaining it, from the score, the coverage and the matched knockouts."""
    verdict = _verdict(rulebook, score, coverage, bool(knockouts))
    if knockouts:
        return verdict, [f"knocked out by {', '.join(knockouts)}"]
    if coverage < rulebook.spec.min_coverage:
        note = (
            f"only {format_percent(coverage)} of the pack's weight could be evaluated "
            f"(minimum {format_percent(rulebook.spec.min_coverage)}): "
            "review until the open questions are answered"
        )
        return verdict, [note]
    return verdict, []
