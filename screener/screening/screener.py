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
from screener.profile.derived import Derived, derived_values, filled, is_present
from screener.profile.model import REGISTRY_FILLS, Profile, company_key
from screener.rules import catalogue, conditions, schema
from screener.rules.catalogue import PackSchema
from screener.rules.engine import Engine
from screener.rules.rulebook import Rule, Rulebook, render_snippet, snippet_context
from screener.screening.result import (
    CategoryScore,
    CompanyRef,
    Outcome,
    PackRef,
    QuestionStake,
    RuleResult,
    ScoreRange,
    ScreeningResult,
    Verdict,
)
from screener.screening.scoring import Tally, Totals, could_change, outcomes, swinging, tally


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
        book = self.rulebook
        results = outcomes(book, fact, fired)
        decided = [o for o, _ in results]
        swing = swinging(book, fact, decided, filled(profile)) if book.completeness_rules else ()
        return Evaluation(profile, on, derived, results, tally(book, decided, swing))

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
        span = totals.range
        planned = plan_questions(profile, [(r.id, r.outcome, r.missing, r.question) for r in rules], book)
        asked = staked(
            planned, book, totals.totals, [o for o, _ in evaluation.outcomes], totals.verdict,
            not (span.worst_verdict is span.best_verdict is totals.verdict),
        )  # fmt: skip
        return ScreeningResult(
            company=CompanyRef(
                name=profile.name, website=profile.website, key=company_key(profile.name, profile.website)
            ),
            screened_on=on,
            pack=PackRef(name=book.name, version=book.version, hash=book.hash),
            score=totals.score,
            verdict=totals.verdict,
            coverage=totals.coverage,
            score_range=ScoreRange(
                worst=span.worst, best=span.best, worst_verdict=span.worst_verdict, best_verdict=span.best_verdict
            ),
            points=totals.points,
            knockouts=totals.knockouts,
            categories=[CategoryScore.model_validate(c, from_attributes=True) for c in totals.categories],
            rules=rules,
            questions=[marked(ask) for ask in asked],
            question_stakes=[
                QuestionStake(fields=a.fields, rules=a.rules, stake=a.stake, could_change_verdict=a.could_change)
                for a in asked
            ],
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


@dataclass(frozen=True, slots=True)
class Ask:
    """One open question, with what its answer puts at stake."""

    text: str  #: as the result asks it, before the stake is marked
    fields: list[str]  #: the profile fields that answer it (empty for a rule's own question)
    rules: list[str]  #: the rules waiting on it, in pack order
    position: int  #: the pack position of the first of them (ties in stake keep pack order)
    stake: int = 0  #: the points the rules could swing (a knockout weighs as the heaviest rule)
    could_change: bool = False  #: whether the answer alone could change the verdict


def open_questions(
    profile: Profile,
    outcomes: Sequence[tuple[str, Outcome, list[str], str | None]],
    pack: PackSchema | None = None,
) -> list[Ask]:
    """One question per missing profile field (naming the rules that need it), then rules' own, in pack order.

    ``outcomes`` holds, per rule in pack order: its id, its outcome, the fields it misses and its
    own rendered question, if any. A missing derived value is asked for through the profile fields
    it is computed from. A field the pack declares with a question is asked with that question.
    """
    pack = pack or catalogue.builtin()
    position = {rule_id: number for number, (rule_id, *_) in enumerate(outcomes)}
    own: dict[str, list[str]] = {}
    for rule_id, result, _, question in outcomes:
        if result is Outcome.NOT_EVALUABLE and question:
            own.setdefault(question, []).append(rule_id)
    asks = []
    for path, rule_ids in missing_inputs(profile, outcomes, pack).items():
        question = pack.question(path)
        if question:
            text = f"{question} ({path}; needed by {', '.join(rule_ids)})"
        else:
            what = pack.describe(path) or _LIST_FIELDS.get(path, path)
            text = f"Find out {what} ({path}); needed by {', '.join(rule_ids)}."
        asks.append(Ask(text, [path], rule_ids, position[rule_ids[0]]))
    asks.extend(Ask(text, [], ids, position[ids[0]]) for text, ids in own.items())
    return asks


#: An open question and, per rule its answer can settle, what that rule can come to.
Planned = tuple["Ask", dict[int, list[Outcome]]]


def plan_questions(
    profile: Profile, outcomes: Sequence[tuple[str, Outcome, list[str], str | None]], book: Rulebook
) -> list[Planned]:
    """:func:`open_questions`, each with its stake, the most points at stake first (ties in pack order),
    and what its answer alone can decide.

    A question's stake is the weight of the rules it gates (|points|, a knockout as the heaviest
    rule, as coverage weighs them). Its answer can decide the rules that miss only what it answers
    (an answer can fill in more than its field: a known base brings its licence, ``REGISTRY_FILLS``),
    and settle others one way only (:func:`~screener.rules.conditions.could_be`: an ``and`` on a
    field still missing can become false, never true). This depends on which fields are missing,
    not on the rules that fired, so a batch plans once per set of missing fields.
    """
    asks = open_questions(profile, outcomes, book.schema)
    if not asks:
        return []
    inputs = book.schema.inputs
    weights = book.weights
    index = {rule.id: rule.index for rule in book.rules}
    missing = {rule_id: lacking for rule_id, result, lacking, _ in outcomes if result is Outcome.NOT_EVALUABLE}
    matched, not_matched = Outcome.MATCHED, Outcome.NOT_MATCHED

    def sources(path: str) -> set[str]:
        if not path.startswith("derived."):
            return {path}
        return {s for s in inputs.get(path.removeprefix("derived."), ()) if not is_present(profile, s)}

    def reachable(answers: set[str], rule_id: str) -> list[Outcome]:
        rule = book.rules[index[rule_id]]
        still = [p for p in missing[rule_id] if not sources(p) or not sources(p) <= answers]
        possible = conditions.could_be(rule.condition, still) if still else {True, False}
        return [outcome for value, outcome in ((True, matched), (False, not_matched)) if value in possible]

    planned = []
    for ask in asks:
        answered: dict[int, list[Outcome]] = {}
        if ask.fields:
            field = ask.fields[0]
            answers = {field, *(f for f in REGISTRY_FILLS.get(field, ()) if not is_present(profile, f))}
            for rule_id, lacking in missing.items():
                if any(sources(p) & answers for p in lacking):
                    can = reachable(answers, rule_id)
                    if can:
                        answered[index[rule_id]] = can
        else:  # a rule's own question: its answer decides the rule either way
            answered = {index[rule_id]: [matched, not_matched] for rule_id in ask.rules}
        stake = sum(weights[index[rule_id]] for rule_id in ask.rules)
        planned.append((Ask(ask.text, ask.fields, ask.rules, ask.position, stake), answered))
    return sorted(planned, key=lambda item: (-item[0].stake, item[0].position))


def staked(
    planned: Sequence[Planned],
    book: Rulebook,
    totals: Totals,
    decided: Sequence[Outcome],
    verdict: Verdict,
    unsettled: bool = True,
) -> list[Ask]:
    """The planned questions, each marked when its answer alone could change the verdict.

    It could when deciding the rules it can decide, the worst or the best way they can go and every
    other open rule still unknown, gives another verdict (:func:`~screener.screening.scoring.could_change`).
    ``unsettled`` False: the score range already says no answer can change the verdict (then no
    part of the answers can either).
    """
    return [
        Ask(ask.text, ask.fields, ask.rules, ask.position, ask.stake,
            unsettled and could_change(book, totals, decided, verdict, answered))
        for ask, answered in planned
    ]  # fmt: skip


def marked(ask: Ask) -> str:
    """The question as the result lists it: its text and what its answer puts at stake."""
    change = "; the answer alone could change the verdict" if ask.could_change else ""
    return f"{ask.text} [{ask.stake} points at stake{change}]"


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
