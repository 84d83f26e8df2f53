"""The stored form of a screening, built fast for batches of millions.

A batch saves, per company, the full JSON of ``Screener.result(..., explain=False)`` and writes a
ranked row. Building the typed result (or even its dict) and serialising it cost several times
the engine's own time, so :class:`StoredResults` builds the JSON text from parts prepared once:

- each rule's JSON object, in its three outcomes, is encoded once per pack (a not-evaluable
  rule's object also names its missing fields, so it is encoded once per set of absent fields);
- everything that depends only on which compared fields are absent (which rules can be
  evaluated, each category's best and worst, coverage, the open questions) is computed once per
  set of absent fields. Deal data has few such sets (282 in 100,000 generated profiles), while
  the rules that fire differ for nearly every company;
- per company only the fired rules are walked: points, matches, knockouts, score, verdict.

The JSON is equal to ``result(...).model_dump(mode="json")`` (``tests/test_stored.py`` checks
it on every fixture and on generated profiles), and the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from screener.derived import INPUTS, is_present
from screener.profile import Profile, company_key
from screener.result import Outcome, Verdict
from screener.scoring import verdict_of
from screener.screening import Screener, open_questions

# Enum .value goes through a descriptor; this runs once per company of a batch.
_VERDICT_TEXT = {v: v.value for v in Verdict}
#: How many matched rules a ranked row lists as reasons.
TOP_REASONS = 3


@dataclass(frozen=True, slots=True)
class Stored:
    """One company's screening as a batch writes it."""

    name: str
    website: str | None
    key: str
    score: float
    verdict: Verdict
    coverage: float
    knockouts: list[str]
    reasons: list[str]  #: at most TOP_REASONS titles: the most points earned, or for a pass the most lost
    matched: list[str]  #: ids of the matched rules, in pack order
    result: bytes  #: the JSON of the typed result without rationales


@dataclass(frozen=True, slots=True)
class _Frame:
    """What one set of absent fields decides, whatever the rules that fire."""

    unfired: tuple[bytes, ...]  #: per rule: its JSON when not fired (or not evaluable)
    fired: tuple[bytes, ...]  #: per rule: its JSON when fired (or not evaluable)
    scored: tuple[tuple[int, int, bool] | None, ...]  #: per rule: category, points, knockout; None: not evaluable
    categories: tuple[bytes, ...]  #: per category: its JSON with %d for points and matched
    category_texts: tuple[dict[tuple[int, int], bytes], ...]  #: per category: its JSON by (points, matched)
    best: int
    worst: int
    coverage: float
    asks: tuple[tuple[str, Outcome, list[str], None], ...]  #: not-evaluable rules, as open_questions takes them
    sources: tuple[str, ...]  #: present fields the questions depend on
    questions: dict[tuple[bool, ...], bytes]  #: by presence of ``sources``: the questions' JSON


class StoredResults:
    """Scores profiles into :class:`Stored` with one :class:`~screener.screening.Screener`."""

    def __init__(self, screener: Screener):
        self.screener = screener
        book = self.book = screener.rulebook
        self._pack = orjson.Fragment(orjson.dumps({"name": book.name, "version": book.version, "hash": book.hash}))
        self._category_of = {name: number for number, name in enumerate(book.categories)}
        self._rules = [
            {"id": r.id, "title": r.spec.title, "category": r.spec.category, "outcome": None, "points": r.points,
             "knockout": r.knockout, "rationale": None, "missing": [], "question": None, "tags": list(r.spec.tags)}
            for r in book.rules
        ]  # fmt: skip
        self._ids = tuple(r.id for r in book.rules)
        self._fired = tuple(self._rule_json(i, Outcome.MATCHED) for i in range(len(book.rules)))
        self._not_fired = tuple(self._rule_json(i, Outcome.NOT_MATCHED) for i in range(len(book.rules)))
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
        self._frame: Callable[[frozenset[str]], _Frame] = functools.lru_cache(maxsize=4096)(self._build_frame)

    def __call__(self, profile: Profile, on: dt.date) -> Stored:
        """Screen ``profile`` as of ``on``. Raises EngineError for a value the engine cannot take."""
        screener = self.screener
        fact = screener.encoded(profile, on)
        fired = screener.engine.matches(fact)
        frame = self._frame(self.book.compared.difference(fact))
        points = 0
        earned = [0] * len(frame.categories)
        matches = [0] * len(frame.categories)
        knockouts = []
        matched = []
        ids = self._ids
        rules = list(frame.unfired)
        for index in sorted(fired):
            rules[index] = frame.fired[index]
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
        score = round(100 * (points - worst) / (best - worst), 1) if best > worst else 0.0
        verdict, notes = verdict_of(self.book, score, frame.coverage, knockouts)
        name, website = profile.name, profile.website
        key = company_key(name, website)
        presence = tuple(is_present(profile, source) for source in frame.sources)
        questions = frame.questions.get(presence)
        if questions is None:
            questions = frame.questions[presence] = orjson.dumps(open_questions(profile, list(frame.asks)))
        categories = []
        for number, texts in enumerate(frame.category_texts):
            totals = (earned[number], matches[number])
            text = texts.get(totals)
            if text is None:
                text = texts[totals] = frame.categories[number] % totals
            categories.append(text)
        result = orjson.dumps(
            {
                "company": {"name": name, "website": website, "key": key},
                "screened_on": on.isoformat(),
                "pack": self._pack,
                "score": score,
                "verdict": _VERDICT_TEXT[verdict],
                "coverage": frame.coverage,
                "points": points,
                "knockouts": knockouts,
                "categories": orjson.Fragment(b"[%b]" % b",".join(categories)),
                "rules": orjson.Fragment(b"[%b]" % b",".join(rules)),
                "questions": orjson.Fragment(questions),
                "notes": notes,
            }
        )
        reasons = []
        for index, title in self._against if verdict is Verdict.PASS else self._reasons:
            if index in fired and frame.scored[index] is not None:
                reasons.append(title)
                if len(reasons) == TOP_REASONS:
                    break
        return Stored(name, website, key, score, verdict, frame.coverage, knockouts, reasons, matched, result)

    def _rule_json(self, index: int, outcome: Outcome, missing: list[str] | None = None) -> bytes:
        return orjson.dumps({**self._rules[index], "outcome": outcome.value, "missing": missing or []})

    def _build_frame(self, absent: frozenset[str]) -> _Frame:
        book = self.book
        unfired: list[bytes] = []
        fired: list[bytes] = []
        scored: list[tuple[int, int, bool] | None] = []
        asks: list[tuple[str, Outcome, list[str], None]] = []
        totals = {name: [0, 0, 0, 0] for name in book.categories}  # best, worst, evaluable, rules
        best = worst = weight = 0
        for (rule_id, category, value, knockout, rule_weight), reads in zip(book.table, book.reads, strict=True):
            index = len(unfired)
            total = totals[category]
            total[3] += 1
            missing = [path for path in reads if path in absent]
            if missing:
                text = self._rule_json(index, Outcome.NOT_EVALUABLE, missing)
                unfired.append(text)
                fired.append(text)
                scored.append(None)
                asks.append((rule_id, Outcome.NOT_EVALUABLE, missing, None))
                continue
            unfired.append(self._not_fired[index])
            fired.append(self._fired[index])
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
        # Per category, its JSON with best, worst, evaluable and rules filled in, %d left for points and matched.
        categories = tuple(
            b'{"category":%b,"points":%%d,"best":%d,"worst":%d,"matched":%%d,"evaluable":%d,"rules":%d}'
            % (orjson.dumps(name).replace(b"%", b"%%"), best_of, worst_of, evaluable, count)
            for name, (best_of, worst_of, evaluable, count) in totals.items()
        )
        coverage = round(weight / book.total_weight, 4) if book.total_weight else 0.0
        # A missing derived value is asked for through the fields it is computed from, when they are
        # absent; a missing compared field is absent by definition. Only the rest depend on the profile.
        sources = dict.fromkeys(
            source
            for _, _, missing, _ in asks
            for path in missing
            if path.startswith("derived.")
            for source in INPUTS.get(path.removeprefix("derived."), ())
            if source not in absent
        )
        return _Frame(
            tuple(unfired), tuple(fired), tuple(scored), categories, tuple({} for _ in categories), best, worst,
            coverage, tuple(asks), tuple(sources), {},
        )  # fmt: skip


def as_dict(stored: Stored) -> dict[str, Any]:
    """The stored result as data (for tests and tools; a batch writes the bytes)."""
    result: dict[str, Any] = orjson.loads(stored.result)
    return result
