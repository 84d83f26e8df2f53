"""The stored form of a screening, built fast for batches of millions.

A batch saves, per company, a row with the :func:`screener.store.packing.details` of
``Screener.result(..., explain=False)`` and writes a ranked row. Building the typed result (or even
its dict) and serialising it cost several times the engine's own time, so :class:`StoredResults`
builds the details' JSON text from parts prepared once:

- everything that depends only on which compared fields are absent (which rules can be
  evaluated and what they miss, each category's best and worst, coverage, the open questions)
  is computed once per set of absent fields (and of rules the present fields settle even so). Deal data has few such sets (282 in 100,000
  generated profiles), while the rules that fire differ for nearly every company;
- per company only the fired rules are walked: points, matches, knockouts, score, verdict.

The JSON equals ``packing.details(result(...).model_dump(mode="json"))`` byte for byte
(``tests/test_stored.py`` checks it on every fixture and on generated profiles).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import orjson

from screener.profile import plausibility
from screener.profile.derived import filled, is_present
from screener.profile.model import Profile, company_identities
from screener.rules.conditions import Node, decide
from screener.screening.result import Outcome, Verdict
from screener.screening.scoring import (
    Range,
    Totals,
    decided_despite,
    range_note,
    score_of,
    score_range,
    swinging,
    verdict_of,
)
from screener.screening.screener import Planned, Screener, marked, plan_questions, staked
from screener.store.identity import outcome_hash
from screener.store.packing import of_rulebook

MATCHED, NOT_MATCHED, NOT_EVALUABLE = Outcome.MATCHED, Outcome.NOT_MATCHED, Outcome.NOT_EVALUABLE

#: How many matched rules a ranked row lists as reasons.
TOP_REASONS = 3


@dataclass(frozen=True, slots=True)
class Stored:
    """One company's screening as a batch writes it."""

    name: str
    website: str | None
    key: str
    identities: tuple[str, ...]  #: what the batch's duplicate rule matches on: "name:…", and "domain:…" with a website
    score: float
    verdict: Verdict
    coverage: float
    range: Range  #: the score range the open rules allow
    knockouts: list[str]
    reasons: list[str]  #: at most TOP_REASONS titles: the most points earned, or for a pass the most lost
    matched: list[str]  #: ids of the matched rules, in pack order
    details: bytes  #: the JSON of packing.details of the typed result without rationales
    checks: list[str]  #: the ids of the plausibility checks that warned, one per warning, in order
    warnings: bytes  #: the JSON of the result's warnings
    outcome: str  #: store.identity.outcome_hash of the screening


@dataclass(frozen=True, slots=True)
class _Frame:
    """What one set of absent fields decides, whatever the rules that fire."""

    scored: tuple[tuple[int, int, bool] | None, ...]  #: per rule: category, points, knockout; None: not evaluable
    categories: tuple[tuple[int, int, int, int], ...]  #: per category: best, worst, evaluable, rules
    not_evaluable: bytes  #: JSON: the id of each rule that cannot be evaluated, and what it misses
    best: int
    worst: int
    coverage: float
    asks: tuple[tuple[str, Outcome, list[str], None], ...]  #: every rule, as open_questions takes them
    sources: tuple[str, ...]  #: present fields the questions depend on
    #: by presence of ``sources``, when no answer can change the verdict: the questions' and stakes' JSON
    #: by presence of ``sources`` (and, when an answer could change the verdict, points and knockouts earned):
    #: the questions' and stakes' JSON
    questions: dict[tuple[Any, ...], tuple[bytes, bytes]]
    unknown: bool  #: some rule cannot be evaluated
    weight: int  #: the evaluable rules' weight
    plans: dict[tuple[bool, ...], list[Planned]]  #: by presence of ``sources``: the questions, planned
    #: by points and knockouts earned and completeness rules that could flip: the range and its note
    ranges: dict[tuple[Any, ...], tuple[Range, str | None]]


class StoredResults:
    """Scores profiles into :class:`Stored` with one :class:`~screener.screening.screener.Screener`."""

    def __init__(self, screener: Screener):
        self.screener = screener
        book = self.book = screener.rulebook
        self.pack_rules = of_rulebook(book)
        self._category_of = {name: number for number, name in enumerate(book.categories)}
        self._ids = tuple(r.id for r in book.rules)
        # Reasons: for a fit, the positive rules, most points first; for a pass, knockouts and then
        # the negative rules, most points lost first (a pass explained by its strengths misleads).
        # sorted() is stable, so pack order breaks ties.
        self._reasons = sorted(
            ((r.index, r.spec.title) for r in book.rules if r.points > 0), key=lambda x: -book.rules[x[0]].points
        )
        self._against = sorted(
            ((r.index, r.spec.title) for r in book.rules if r.knockout or r.points < 0),
            key=lambda x: (not book.rules[x[0]].knockout, book.rules[x[0]].points),
        )
        self._frame: Callable[[frozenset[str], frozenset[int]], _Frame] = functools.lru_cache(maxsize=4096)(
            self._build_frame
        )
        self._settlable: Callable[[frozenset[str]], tuple[tuple[int, Node], ...]] = functools.lru_cache(maxsize=4096)(
            functools.partial(decided_despite, book)
        )

    def __call__(self, profile: Profile, on: dt.date) -> Stored:
        """Screen ``profile`` as of ``on``. Raises EngineError for a value the engine cannot take."""
        screener = self.screener
        fact = screener.encoded(profile, on)
        fired = screener.engine.matches(fact)
        absent = self.book.compared.difference(fact)
        # Rules that miss a field but are settled by the ones present (scoring.outcomes decides alike).
        settled = frozenset(index for index, node in self._settlable(absent) if decide(node, fact) is not None)
        frame = self._frame(absent, settled)
        points = 0
        earned = [0] * len(frame.categories)
        matches = [0] * len(frame.categories)
        knockouts = []
        matched = []
        ids = self._ids
        for index in sorted(fired):
            scoring = frame.scored[index]
            if scoring is None:  # not evaluable: an absent field decides, not the engine
                continue
            category, value, knockout = scoring
            matched.append(ids[index])
            matches[category] += 1
            if knockout:
                knockouts.append(ids[index])
            else:
                points += value
                earned[category] += value
        best, worst = frame.best, frame.worst
        book = self.book
        score = score_of(points, best, worst)
        verdict, notes = verdict_of(book, score, frame.coverage, knockouts)
        # The range, its note and the questions' marks depend on the frame, the points and knockouts
        # earned, the completeness rules that could flip and which question sources are present:
        # computed once per such case, not per company.
        swing: frozenset[int] = frozenset()
        if book.completeness_rules:
            now = {i: NOT_EVALUABLE if frame.scored[i] is None else MATCHED if i in fired else NOT_MATCHED
                   for i in book.completeness_rules}  # fmt: skip
            swing = swinging(book, fact, now, filled(profile))
        presence = tuple(is_present(profile, source) for source in frame.sources)
        case = (points, len(knockouts), swing)
        ranged = frame.ranges.get(case)
        if ranged is None:
            decided = self._decided(frame, fired)
            totals = Totals(points, best, worst, frame.weight, len(knockouts))
            span = score_range(book, decided, swing, (score, verdict, frame.coverage, totals))
            ranged = frame.ranges[case] = (span, range_note(book, verdict, frame.coverage, span, decided))
        span, note = ranged
        if note:
            notes.append(note)
        final = span.worst_verdict is span.best_verdict is verdict  # no answer can change the verdict
        asked_for = (presence,) if final else (presence, points, len(knockouts))
        said = frame.questions.get(asked_for)
        if said is None:
            planned = frame.plans.get(presence)
            if planned is None:
                planned = frame.plans[presence] = plan_questions(profile, frame.asks, book)
            totals = Totals(points, best, worst, frame.weight, len(knockouts))
            asked = staked(planned, book, totals, self._decided(frame, fired), verdict, not final)
            said = frame.questions[asked_for] = (
                orjson.dumps([marked(a) for a in asked]),
                orjson.dumps([[a.fields, a.rules, a.stake, a.could_change] for a in asked]),
            )
        name, website = profile.name, profile.website
        parts = {
            "points": points,
            "categories": [
                (earned[number], best_of, worst_of, matches[number], evaluable, count)
                for number, (best_of, worst_of, evaluable, count) in enumerate(frame.categories)
            ],
            "not_evaluable": orjson.Fragment(frame.not_evaluable),
            "explained": {},
            "questions": orjson.Fragment(said[0]),
            "stakes": orjson.Fragment(said[1]),
            "notes": notes,
        }
        details = orjson.dumps(parts)
        reasons = []
        for index, title in self._against if verdict is Verdict.PASS else self._reasons:
            if index in fired and frame.scored[index] is not None:
                reasons.append(title)
                if len(reasons) == TOP_REASONS:
                    break
        found = plausibility.check(profile, on)
        warnings = orjson.dumps([w.model_dump() for w in found]) if found else b"[]"
        outcome = outcome_hash(score, verdict, frame.coverage, knockouts, matched, parts, warnings)
        key, domain, normalised = company_identities(name, website)
        identities = (f"name:{normalised}", f"domain:{domain}") if domain else (f"name:{normalised}",)
        return Stored(
            name, website, key, identities, score, verdict, frame.coverage, span, knockouts, reasons, matched, details,
            [w.check for w in found], warnings, outcome,
        )  # fmt: skip

    @staticmethod
    def _decided(frame: _Frame, fired: Collection[int]) -> list[Outcome]:
        """Every rule's outcome, as scoring.outcomes gives it."""
        return [NOT_EVALUABLE if s is None else MATCHED if i in fired else NOT_MATCHED
                for i, s in enumerate(frame.scored)]  # fmt: skip

    def _build_frame(self, absent: frozenset[str], settled: frozenset[int]) -> _Frame:
        book = self.book
        scored: list[tuple[int, int, bool] | None] = []
        asks: list[tuple[str, Outcome, list[str], None]] = []
        not_evaluable: dict[str, list[str]] = {}
        totals = {name: [0, 0, 0, 0] for name in book.categories}  # best, worst, evaluable, rules
        best = worst = weight = 0
        for index, ((rule_id, category, value, knockout, rule_weight), reads) in enumerate(
            zip(book.table, book.reads, strict=True)
        ):
            total = totals[category]
            total[3] += 1
            missing = [path for path in reads if path in absent] if index not in settled else []
            if missing:
                scored.append(None)
                not_evaluable[rule_id] = missing
                asks.append((rule_id, Outcome.NOT_EVALUABLE, missing, None))
                continue
            asks.append((rule_id, Outcome.NOT_MATCHED, [], None))  # evaluated: which way does not matter here
            scored.append((self._category_of[category], value, knockout))
            weight += rule_weight
            total[2] += 1
            if knockout:
                continue
            if value > 0:
                best += value
                total[0] += value
            else:
                worst += value
                total[1] += value
        coverage = round(weight / book.total_weight, 4) if book.total_weight else 0.0
        # A missing derived value is asked for through the fields it is computed from, when they are
        # absent; a missing compared field is absent by definition. Only the rest depend on the profile.
        inputs = book.schema.inputs
        sources = dict.fromkeys(
            source
            for _, _, missing, _ in asks
            for path in missing
            if path.startswith("derived.")
            for source in inputs.get(path.removeprefix("derived."), ())
            if source not in absent
        )
        return _Frame(
            tuple(scored), tuple((b, w, e, n) for b, w, e, n in totals.values()), orjson.dumps(not_evaluable),
            best, worst, coverage, tuple(asks), tuple(sources), {}, bool(not_evaluable), weight, {}, {},
        )  # fmt: skip
