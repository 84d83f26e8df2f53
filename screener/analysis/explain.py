"""``screen explain``: why each rule matched, did not, or could not be evaluated, comparison by comparison.

The outcome of each rule is the real engine's (through :class:`~screener.screening.screener.Screener`);
each comparison's value and truth are read from the same encoded fact the engine saw, decoded
for people with :meth:`~screener.rules.schema.FieldSpec.decode`. Thresholds are written in their
field's unit ($1.5M, 30%), a membership (``in [...]``) is one test, each ordered comparison says
how far the value is from its threshold, each rule what it earned of what it could, and the
explanation how close the verdict was to the pack's thresholds. ``agrees`` records whether the
Python evaluation of the whole condition gives the engine's answer; it always should, and the
output says so loudly when it does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from screener.errors import RuleError, did_you_mean
from screener.profile.checks import DataWarning
from screener.profile.model import Profile
from screener.profile.units import parse_money
from screener.rules import conditions
from screener.rules.rulebook import Rulebook
from screener.rules.schema import FieldSpec, Kind
from screener.screening.result import Outcome, PackRef, ScoreRange, Verdict
from screener.screening.screener import Screener
from screener.texts import format_money


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckResult(_Out):
    """One comparison, membership or presence test of a condition, as applied to the company."""

    field: str
    present: bool = Field(description="whether the company has a value for the field")
    value: Any = Field(None, description="the value read, decoded for people (None when absent)")
    shown: str = Field(description="the value as people write it: '$2.5M', '61%', 'missing'")
    test: str = Field(description="the test in the field's unit: 'derived.funding_per_head <= $1.5M', "
                      "'model.approach in [fine-tune, distill, merge]'")  # fmt: skip
    held: bool | None = Field(description="whether it holds; None when the field is missing (it cannot be told)")
    threshold: str | None = Field(None, description="what the value is compared with, in the field's unit")
    margin: str | None = Field(
        None, description="how far the value is from the threshold: '$750K below', '1 above', 'at the threshold'"
    )


class RuleExplanation(_Out):
    id: str
    title: str
    outcome: Outcome = Field(description="what the engine decided")
    points: int = Field(description="the points the rule awards when it matches (its potential)")
    earned: int = Field(description="the points it earned for this company (0 unless it matched)")
    knockout: bool
    condition: str = Field(description="the condition, its thresholds in their fields' units")
    missing: list[str] = Field(description="compared fields the company lacks (why a rule is not evaluable)")
    checks: list[CheckResult]
    agrees: bool = Field(description="the Python evaluation of the condition gives the engine's outcome")


class Explanation(_Out):
    company: str
    screened_on: dt.date
    pack: PackRef
    score: float
    verdict: Verdict
    margin: str = Field(description="how close the verdict was: the score against the pack's thresholds")
    score_range: ScoreRange | None = Field(description="the score and verdict the rules not evaluated allow")
    notes: list[str] = Field(default_factory=list, description="the result's notes (a verdict the range could change)")
    rules: list[RuleExplanation]
    warnings: list[DataWarning] = Field(default_factory=list, description="the profile's data warnings")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def explain(screener: Screener, profile: Profile, on: dt.date, rule_id: str | None = None) -> Explanation:
    """Explain every rule (or only ``rule_id``) of the screener's pack for one profile."""
    book = screener.rulebook
    rules = [book.rule(rule_id)] if rule_id is not None else list(book.rules)
    result = screener.screen(profile, on, explain=False)
    fact, _ = screener.fact(profile, on)
    outcomes = {r.id: r for r in result.rules}
    explained = []
    for rule in rules:
        decided = outcomes[rule.id]
        agrees = decided.outcome is Outcome.NOT_EVALUABLE or (
            conditions.evaluate(rule.condition, fact) is (decided.outcome is Outcome.MATCHED)
        )
        matched = decided.outcome is Outcome.MATCHED
        explained.append(
            RuleExplanation(
                id=rule.id,
                title=rule.spec.title,
                outcome=decided.outcome,
                points=rule.points,
                earned=rule.points if matched and not rule.knockout else 0,
                knockout=rule.knockout,
                condition=_render(rule.condition),
                missing=decided.missing,
                checks=list(_checks(rule.condition, fact)),
                agrees=agrees,
            )
        )
    return Explanation(
        company=profile.name,
        screened_on=on,
        pack=result.pack,
        score=result.score,
        verdict=result.verdict,
        margin=verdict_margin(book, result.score, result.coverage, result.knockouts),
        score_range=result.score_range,
        notes=result.notes,
        rules=explained,
        warnings=result.warnings,
    )


def verdict_margin(book: Rulebook, score: float, coverage: float, knockouts: list[str]) -> str:
    """How close the verdict was: ``6.2 above the strong-fit threshold (65)``, or what decided it instead."""
    if knockouts:
        return f"knocked out by {', '.join(knockouts)}: pass whatever the score"
    minimum = book.spec.min_coverage
    if coverage < minimum:
        return f"review: {coverage:.0%} of the pack could be evaluated, below the {minimum:.0%} minimum"
    strong, review = book.spec.thresholds.strong_fit, book.spec.thresholds.review
    if score >= strong:
        return f"{score - strong:.1f} above the strong-fit threshold ({strong:g})"
    if score >= review:
        return f"{strong - score:.1f} below strong fit ({strong:g}), {score - review:.1f} above review ({review:g})"
    return f"{review - score:.1f} below the review threshold ({review:g})"


def explain_file(
    profile_path: Any, rules: Any, on: dt.date, rates: dict[str, float], rule_id: str | None
) -> Explanation:
    """Load a profile and a pack, and explain; the one call behind the command."""
    from screener.profile.model import load_profile
    from screener.rules.rulebook import load_rulebook

    rulebook = load_rulebook(rules)
    if rule_id is not None and rule_id not in {r.id for r in rulebook.rules}:
        hint = did_you_mean(rule_id, [r.id for r in rulebook.rules])
        raise RuleError(f"no rule {rule_id!r} in pack {rulebook.name}{hint}")
    profile = load_profile(profile_path, rates, rulebook.schema.profile_model)
    with Screener(rulebook) as screener:
        return explain(screener, profile, on, rule_id)


def _membership(node: conditions.Node) -> tuple[FieldSpec, bool, list[conditions.Compare]] | None:
    """``x in [a, b]`` (an ``or`` of equalities on one field) or ``x not in [a, b]`` (an ``and`` of inequalities)."""
    if not isinstance(node, conditions.All | conditions.AnyOf) or len(node.items) < 2:
        return None
    items = node.items
    op = conditions.Op.EQ if isinstance(node, conditions.AnyOf) else conditions.Op.NE
    if not all(isinstance(i, conditions.Compare) and i.op is op for i in items):
        return None
    compares = [i for i in items if isinstance(i, conditions.Compare)]
    if len({c.field.path for c in compares}) != 1:
        return None
    return compares[0].field, op is conditions.Op.EQ, compares


def _render(node: conditions.Node, top: bool = True) -> str:
    """The condition as :func:`conditions.render` writes it, with memberships and values in their units."""
    group = _membership(node)
    if group is not None:
        spec, positive, compares = group
        return f"{spec.path} {'in' if positive else 'not in'} [{', '.join(_literal(c) for c in compares)}]"
    if isinstance(node, conditions.Compare):
        return f"{node.field.path} {node.op} {_literal(node)}"
    if isinstance(node, conditions.Exists):
        return conditions.render(node)
    joiner = " and " if isinstance(node, conditions.All) else " or "
    text = joiner.join(_render(i, top=False) for i in node.items)
    return text if top else f"({text})"


def _checks(node: conditions.Node, fact: dict[str, Any]) -> Iterator[CheckResult]:
    """One check per comparison, presence test or membership, in reading order."""
    group = _membership(node)
    if group is not None:
        spec, _, compares = group
        listed = f"[{', '.join(_literal(c) for c in compares)}]"
        yield _result(spec, fact, _render(node), conditions.evaluate(node, fact), listed, None)
    elif isinstance(node, conditions.Compare):
        threshold, margin = _literal(node), _margin(node, fact)
        yield _result(node.field, fact, _render(node), conditions.evaluate(node, fact), threshold, margin)
    elif isinstance(node, conditions.Exists):
        yield _result(node.field, fact, _render(node), conditions.evaluate(node, fact), None, None, presence=True)
    else:
        for item in node.items:
            yield from _checks(item, fact)


def _result(
    spec: FieldSpec,
    fact: dict[str, Any],
    test: str,
    held: bool,
    threshold: str | None,
    margin: str | None,
    *,
    presence: bool = False,
) -> CheckResult:
    path = spec.path
    present = path in fact
    value = spec.decode(fact[path]) if present else None
    return CheckResult(
        field=path,
        present=present,
        value=value,
        shown=show(spec, value),
        test=test,
        held=held if present or presence else None,
        threshold=threshold,
        margin=margin,
    )


def _literal(node: conditions.Compare) -> str:
    """A comparison's value as people write it in the field's unit: $1.5M, 30%, 'fine-tune', 2025-01-01."""
    spec, value = node.field, node.value
    if spec.kind is Kind.MONEY:
        return _money(int(value))
    if spec.kind is Kind.FRACTION:
        return f"{value * 100:g}%"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _money(dollars: int) -> str:
    """``$1.5M`` when that is exactly the amount, else every dollar (``$15,000,001``): thresholds are exact."""
    text = format_money(abs(dollars))
    exact = text if parse_money(text) == abs(dollars) else f"${abs(dollars):,}"
    return f"-{exact}" if dollars < 0 else exact


_ORDERED = frozenset({Kind.INTEGER, Kind.MONEY, Kind.FRACTION, Kind.NUMBER, Kind.YEAR, Kind.DATE})


def _margin(node: conditions.Compare, fact: dict[str, Any]) -> str | None:
    """How far the company's value is from an ordered comparison's threshold, in the field's unit."""
    spec = node.field
    if spec.kind not in _ORDERED or node.op in {conditions.Op.EQ, conditions.Op.NE} or spec.path not in fact:
        return None
    value, threshold = spec.decode(fact[spec.path]), spec.decode(node.encoded)
    if spec.kind is Kind.DATE:
        days = (dt.date.fromisoformat(value) - dt.date.fromisoformat(threshold)).days
        return (
            "at the threshold"
            if not days
            else f"{abs(days):,} day{'s' * (abs(days) != 1)} {'after' if days > 0 else 'before'}"
        )
    difference = value - threshold
    if not difference:
        return "at the threshold"
    side = "above" if difference > 0 else "below"
    size = abs(difference)
    if spec.kind is Kind.MONEY:
        amount = _money(int(size))
    elif spec.kind is Kind.FRACTION:
        amount = f"{round(size * 100, 2):g} pp"
    elif spec.kind is Kind.NUMBER:
        amount = f"{round(size, 3):g}"
    else:
        amount = f"{int(size):,}"
    return f"{amount} {side}"


def show(spec: FieldSpec, value: Any) -> str:
    """A decoded value as people write it: money with a $, fractions as percentages."""
    if value is None:
        return "missing"
    if spec.kind is Kind.MONEY:
        return format_money(int(value))
    if spec.kind is Kind.FRACTION:
        return f"{value * 100:g}%"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
