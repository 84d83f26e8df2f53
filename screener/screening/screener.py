"""Screening: a validated profile through the engine to a :class:`ScreeningResult`.

The one place where the pipeline is assembled: profile → derived values → encoded fact →
durable-rules matches → per-rule outcomes → tally → rendered rationales and questions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from screener import texts
from screener.profile import plausibility
from screener.profile.derived import Derived, derived_values, is_present
from screener.profile.model import Profile, company_key
from screener.rules import catalogue, conditions, schema
from screener.rules.catalogue import PackSchema
from screener.rules.engine import Engine
from screener.rules.rulebook import Rule, Rulebook, render_snippet, snippet_context
from screener.screening.result import CategoryScore, CompanyRef, Outcome, PackRef, RuleResult, ScreeningResult
from screener.screening.scoring import Tally, outcomes, tally


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the engine decided for one profile on one date, before anything is rendered."""

    profile: Profile
    on: dt.date
    derived: Derived
    outcomes: list[tuple[Outcome, list[str]]]  #: per rule, in pack order: outcome and missing fields
    tally: Tally


class Screener:
    """A rule pack compiled into an engine, ready to screen many profiles.

    Not thread-safe (the engine is not); use one per worker. Close it, or use it as a
    context manager, to free the engine.
    """

    def __init__(self, rulebook: Rulebook):
        self.rulebook = rulebook
        self.engine = Engine(rulebook)
        self.schema = rulebook.schema
        self.paths = tuple(dict.fromkeys(p for r in rulebook.rules for p in conditions.mentions(r.condition)))
        self._encode = schema.FactEncoder(self.paths, self.schema.fields)
        # Without declared derived values, the built-in function itself (it runs once per profile).
        self._derived_values = self.schema.derived_values if self.schema.formulas else derived_values
        self._derived_model = self.schema.derived_model
        self._static = tuple(
            (r.id, r.spec.title, r.spec.category, r.points, r.knockout, tuple(r.spec.tags)) for r in rulebook.rules
        )

    def fact(self, profile: Profile, on: dt.date) -> tuple[dict[str, Any], Derived]:
        values = self._derived_values(profile, on)
        return self._encode(profile, values), self._derived_model.model_construct(**values)

    def encoded(self, profile: Profile, on: dt.date) -> dict[str, Any]:
        """The fact alone, without building the :class:`Derived` model (batch scoring needs only this)."""
        return self._encode(profile, self._derived_values(profile, on))

    def evaluate(self, profile: Profile, on: dt.date) -> Evaluation:
        """Every rule's outcome and the tally: the engine's decisions, nothing rendered."""
        fact, derived = self.fact(profile, on)
        fired = self.engine.matches(fact)
        results = outcomes(self.rulebook, fact, fired)
        return Evaluation(profile, on, derived, results, tally(self.rulebook, [o for o, _ in results]))

    def screen(self, profile: Profile, on: dt.date, *, explain: bool = True) -> ScreeningResult:
        """Screen one profile as of ``on``. ``explain=False`` skips rendering rationales."""
        return self.result(self.evaluate(profile, on), explain=explain)

    def result(self, evaluation: Evaluation, *, explain: bool = True) -> ScreeningResult:
        """The typed result of an evaluation, with rationales and questions rendered when ``explain``."""
        profile, on, book = evaluation.profile, evaluation.on, self.rulebook
        context = _context(profile, evaluation.derived, on) if explain else None
        rules = [
            _rule_result(rule, result, missing, context)
            for rule, (result, missing) in zip(book.rules, evaluation.outcomes, strict=True)
        ]
        totals = evaluation.tally
        return ScreeningResult(
            company=CompanyRef(
                name=profile.name, website=profile.website, key=company_key(profile.name, profile.website)
            ),
            screened_on=on,
            pack=PackRef(name=book.name, version=book.version, hash=book.hash),
            score=totals.score,
            verdict=totals.verdict,
            coverage=totals.coverage,
            points=totals.points,
            knockouts=totals.knockouts,
            categories=[CategoryScore.model_validate(c, from_attributes=True) for c in totals.categories],
            rules=rules,
            questions=open_questions(profile, [(r.id, r.outcome, r.missing, r.question) for r in rules], book.schema),
            notes=totals.notes,
            warnings=plausibility.check(profile, on),
        )

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Screener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def screen(profile: Profile, rulebook: Rulebook, on: dt.date | None = None) -> ScreeningResult:
    """Screen one profile with a rule pack (today when ``on`` is None)."""
    with Screener(rulebook) as screener:
        return screener.screen(profile, on or dt.date.today())


def _context(profile: Profile, derived: Derived, on: dt.date) -> dict[str, Any]:
    return snippet_context(profile, derived.model_dump(mode="json"), on)


def _rule_result(rule: Rule, result: Outcome, missing: list[str], context: dict[str, Any] | None) -> RuleResult:
    rationale = question = None
    if context is not None and result is Outcome.MATCHED:
        rationale = _render(rule, rule.rationale, context, "rationale")
    if result is Outcome.NOT_EVALUABLE and context is not None and rule.question is not None:
        question = _render(rule, rule.question, context, "question")
    return RuleResult(
        id=rule.id,
        title=rule.spec.title,
        category=rule.spec.category,
        outcome=result,
        points=rule.points,
        knockout=rule.knockout,
        rationale=rationale,
        missing=missing,
        question=question,
        tags=list(rule.spec.tags),
    )


def open_questions(
    profile: Profile,
    outcomes: Sequence[tuple[str, Outcome, list[str], str | None]],
    pack: PackSchema | None = None,
) -> list[str]:
    """One question per missing profile field (naming the rules that need it), then rules' own questions.

    ``outcomes`` holds, per rule in pack order: its id, its outcome, the fields it misses and its
    own rendered question, if any. A missing derived value is asked for through the profile fields
    it is computed from. A field the pack declares with a question is asked with that question.
    """
    pack = pack or catalogue.builtin()
    custom = [question for _, result, _, question in outcomes if result is Outcome.NOT_EVALUABLE and question]
    asks = []
    for path, rule_ids in missing_inputs(profile, outcomes, pack).items():
        question = pack.question(path)
        if question:
            asks.append(f"{question} ({path}; needed by {', '.join(rule_ids)})")
            continue
        what = pack.describe(path) or _LIST_FIELDS.get(path, path)
        asks.append(f"Find out {what} ({path}); needed by {', '.join(rule_ids)}.")
    return asks + list(dict.fromkeys(custom))


def missing_inputs(
    profile: Profile,
    outcomes: Sequence[tuple[str, Outcome, list[str], str | None]],
    pack: PackSchema | None = None,
) -> dict[str, list[str]]:
    """The profile fields diligence has to find out, each with the rules waiting on it.

    Rules with a question of their own are left out (they ask it). A missing derived value is
    traced to the profile fields it is computed from, and only those the profile does not give
    count. A rule is named once per field even when two of its derived values need that field.
    """
    inputs = (pack or catalogue.builtin()).inputs
    needed: dict[str, list[str]] = {}
    for rule, result, missing, question in outcomes:
        if result is not Outcome.NOT_EVALUABLE or question:
            continue
        for path in missing:
            sources = inputs.get(path.removeprefix("derived."), ()) if path.startswith("derived.") else (path,)
            for source in sources:
                if not is_present(profile, source) and rule not in needed.setdefault(source, []):
                    needed[source].append(rule)
    return needed


_LIST_FIELDS = {
    "team.founders": "who the founders are and their backgrounds",
    "benchmarks": "benchmark results against the frontier",
}


def _render(rule: Rule, template: texts.Snippet, context: dict[str, Any], what: str) -> str:
    return render_snippet(rule, what, context)
