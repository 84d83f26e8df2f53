"""``screen explain``: why each rule matched, did not, or could not be evaluated, comparison by comparison.

The outcome of each rule is the real engine's (through :class:`~screener.screening.Screener`);
each comparison's value and truth are read from the same encoded fact the engine saw, decoded
for people with :meth:`~screener.schema.FieldSpec.decode`. ``agrees`` records whether the
Python evaluation of the whole condition gives the engine's answer; it always should, and the
output says so loudly when it does not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from screener.errors import RuleError
from screener.profile.model import Profile
from screener.profile.units import format_money
from screener.rules import conditions
from screener.rules.schema import FieldSpec, Kind
from screener.screening.result import Outcome, PackRef, Verdict
from screener.screening.screener import Screener


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckResult(_Out):
    """One comparison or presence test of a condition, as applied to the company."""

    field: str
    present: bool = Field(description="whether the company has a value for the field")
    value: Any = Field(None, description="the value read, decoded for people (None when absent)")
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
        import difflib

        close = difflib.get_close_matches(rule_id, [r.id for r in rulebook.rules], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RuleError(f"no rule {rule_id!r} in pack {rulebook.name}{hint}")
    profile = load_profile(profile_path, rates)
    with Screener(rulebook) as screener:
        return explain(screener, profile, on, rule_id)


def _check(atom: conditions.Compare | conditions.Exists, fact: dict[str, Any]) -> CheckResult:
    path = atom.field.path
    present = path in fact
    return CheckResult(
        field=path,
        present=present,
        value=atom.field.decode(fact[path]) if present else None,
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


OUTCOME_STYLE = {
    Outcome.MATCHED: "[green]matched[/]",
    Outcome.NOT_MATCHED: "[dim]not matched[/]",
    Outcome.NOT_EVALUABLE: "[yellow]not evaluable[/]",
}


def print_explanation(explanation: Explanation) -> None:
    """A table: one block of rows per rule, one row per comparison."""
    from rich.markup import escape
    from rich.table import Table

    from screener.cli.report import VERDICT_STYLE, console
    from screener.rules.schema import fields

    out = console()
    catalogue = fields()
    verdict = f"[{VERDICT_STYLE[explanation.verdict]}]{explanation.verdict.value.upper()}[/]"
    out.print(f"[bold]{escape(explanation.company)}[/]  {verdict}  score {explanation.score:.1f}/100")
    pack = explanation.pack
    out.print(f"pack {pack.name} {pack.version}, screened on {explanation.screened_on}")
    table = Table(show_lines=False)
    for column, justify in (
        ("rule", "left"),
        ("outcome", "left"),
        ("points", "right"),
        ("test", "left"),
        ("value read", "left"),
        ("holds", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for rule in explanation.rules:
        points = "KNOCKOUT" if rule.knockout else f"{rule.points:+d}"
        for number, check in enumerate(rule.checks):
            spec = catalogue[check.field]
            read = show(spec, check.value)
            holds = "[green]yes[/]" if check.held else "[red]no[/]"
            first = number == 0
            table.add_row(
                rule.id if first else "",
                OUTCOME_STYLE[rule.outcome] if first else "",
                points if first else "",
                escape(check.test),
                escape(read),
                holds,
            )
    out.print(table)
    for rule in explanation.rules:
        if not rule.agrees:
            out.print(f"[bold red]engine disagreement:[/] {rule.id}: the engine said {rule.outcome.value}")
