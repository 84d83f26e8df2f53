"""``screen explain``: why each rule matched, did not, or could not be evaluated, comparison by comparison.

The outcome of each rule is the real engine's (through :class:`~screener.screening.screener.Screener`);
each comparison's value and truth are read from the same encoded fact the engine saw, decoded
for people with :meth:`~screener.rules.schema.FieldSpec.decode`. ``agrees`` records whether the
Python evaluation of the whole condition gives the engine's answer; it always should, and the
output says so loudly when it does not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from screener.errors import RuleError, did_you_mean
from screener.profile.model import Profile
from screener.rules import conditions
from screener.rules.schema import FieldSpec, Kind
from screener.screening.result import Outcome, PackRef, Verdict
from screener.screening.screener import Screener
from screener.texts import format_money


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckResult(_Out):
    """One comparison or presence test of a condition, as applied to the company."""

    field: str
    present: bool = Field(description="whether the company has a value for the field")
    value: Any = Field(None, description="the value read, decoded for people (None when absent)")
    shown: str = Field(description="the value as people write it: '$2.5M', '61%', 'missing'")
    test: str = Field(description="the comparison as written canonically, e.g. 'team.size <= 15'")
    held: bool


class RuleExplanation(_Out):
    id: str
    title: str
    outcome: Outcome = Field(description="what the engine decided")
    points: int
    knockout: bool
    condition: str
    missing: list[str] = Field(description="compared fields the company lacks (why a rule is not evaluable)")
    checks: list[CheckResult]
    agrees: bool = Field(description="the Python evaluation of the condition gives the engine's outcome")


class Explanation(_Out):
    company: str
    screened_on: dt.date
    pack: PackRef
    score: float
    verdict: Verdict
    rules: list[RuleExplanation]

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
        checks = [_check(atom, fact) for atom in conditions.walk(rule.condition)]
        agrees = decided.outcome is Outcome.NOT_EVALUABLE or (
            conditions.evaluate(rule.condition, fact) is (decided.outcome is Outcome.MATCHED)
        )
        explained.append(
            RuleExplanation(
                id=rule.id,
                title=rule.spec.title,
                outcome=decided.outcome,
                points=rule.points,
                knockout=rule.knockout,
                condition=conditions.render(rule.condition),
                missing=decided.missing,
                checks=checks,
                agrees=agrees,
            )
        )
    return Explanation(
        company=profile.name,
        screened_on=on,
        pack=result.pack,
        score=result.score,
        verdict=result.verdict,
        rules=explained,
    )


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


def _check(atom: conditions.Compare | conditions.Exists, fact: dict[str, Any]) -> CheckResult:
    path = atom.field.path
    present = path in fact
    value = atom.field.decode(fact[path]) if present else None
    return CheckResult(
        field=path,
        present=present,
        value=value,
        shown=show(atom.field, value),
        test=conditions.render(atom),
        held=conditions.evaluate(atom, fact),
    )


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
