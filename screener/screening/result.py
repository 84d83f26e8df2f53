"""The screening result: what one company scored under one rule pack on one date, and why.

These models are the contract with every consumer (terminal, JSON, memo, database). A result
holds no wall-clock time, only the screening date, so the same profile, pack and date always
serialise to the same bytes (:meth:`ScreeningResult.to_json`).
"""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel, ConfigDict, Field

from screener.profile.checks import DataWarning


class Verdict(enum.StrEnum):
    """The screen's decision, best first."""

    STRONG_FIT = "strong-fit"  #: score at or above the pack's strong_fit threshold, enough data, no knockout
    REVIEW = "review"  #: worth a partner's look
    PASS = "pass"  # noqa: S105 (a verdict, not a password) #: below the review threshold, or knocked out

    @property
    def rank(self) -> int:
        return list(Verdict).index(self)

    def at_least(self, other: Verdict) -> bool:
        return self.rank <= other.rank


class Outcome(enum.StrEnum):
    MATCHED = "matched"
    NOT_MATCHED = "not-matched"
    NOT_EVALUABLE = "not-evaluable"  #: a field the rule compares is missing from the profile


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PackRef(_Out):
    name: str
    version: str
    hash: str


class CompanyRef(_Out):
    name: str
    website: str | None = None
    key: str = Field(description="identity used to recognise the company again (website domain or normalised name)")


class RuleResult(_Out):
    """One rule's outcome for the company."""

    id: str
    title: str
    category: str
    outcome: Outcome
    points: int = Field(description="points the rule awards when matched (0 for knockouts)")
    knockout: bool = False
    rationale: str | None = Field(None, description="rendered rationale, for matched rules")
    missing: list[str] = Field(default_factory=list, description="fields whose absence made the rule not evaluable")
    question: str | None = Field(None, description="the diligence question a not-evaluable rule raises")
    tags: list[str] = Field(default_factory=list)


class CategoryScore(_Out):
    category: str
    points: int = Field(description="points earned by matched rules")
    best: int = Field(description="the most points the evaluable rules of the category could earn")
    worst: int = Field(description="the fewest points the evaluable rules of the category could earn")
    matched: int
    evaluable: int
    rules: int


class ScoreRange(_Out):
    """What the rules that could not be evaluated allow: the score and verdict once they are known."""

    worst: float = Field(description="the score if every open rule comes out the worst way for the company")
    best: float = Field(description="the score if every open rule comes out the best way")
    worst_verdict: Verdict = Field(description="the verdict of the worst case (an open knockout matched)")
    best_verdict: Verdict = Field(description="the verdict of the best case")

    @property
    def scores(self) -> str:
        """The range as people read it: ``58.0–81.5``."""
        return f"{self.worst:.1f}\u2013{self.best:.1f}"

    @property
    def verdicts(self) -> str:
        """The verdicts of the two cases: ``review–strong-fit``, or one verdict when both agree."""
        if self.worst_verdict is self.best_verdict:
            return f"{self.worst_verdict.value} either way"
        return f"{self.worst_verdict.value}\u2013{self.best_verdict.value}"


class QuestionStake(_Out):
    """What one open question's answer puts at stake (``questions`` lists them in the same order)."""

    fields: list[str] = Field(description="the profile fields that answer it (empty for a rule's own question)")
    rules: list[str] = Field(description="the rules it gates")
    stake: int = Field(description="the points those rules could swing (a knockout weighs as the heaviest rule)")
    could_change_verdict: bool = Field(description="whether its answer alone could change the verdict")


class ScreeningResult(_Out):
    company: CompanyRef
    screened_on: dt.date
    pack: PackRef
    score: float = Field(description="0–100: where the earned points fall between the worst and best possible")
    verdict: Verdict
    coverage: float = Field(description="share of the pack's rule weight that could be evaluated (0..1)")
    score_range: ScoreRange | None = Field(
        None,
        description="worst and best case of the score and verdict the open rules allow (None: a stored screening "
        "whose range could not be computed when the database was upgraded)",
    )
    points: int
    knockouts: list[str] = Field(description="ids of matched knockout rules")
    categories: list[CategoryScore]
    rules: list[RuleResult] = Field(description="every rule of the pack, in pack order")
    questions: list[str] = Field(
        description="open diligence questions raised by missing data, the most points at stake first"
    )
    question_stakes: list[QuestionStake] = Field(
        default_factory=list, description="per question, in the same order: what its answer puts at stake"
    )
    notes: list[str] = Field(default_factory=list, description="why the verdict differs from what the score alone says")
    warnings: list[DataWarning] = Field(
        default_factory=list,
        description="plausibility warnings: valid values in the profile a careful analyst would question",
    )

    def by_outcome(self, outcome: Outcome) -> list[RuleResult]:
        return [r for r in self.rules if r.outcome is outcome]

    @property
    def matched(self) -> list[RuleResult]:
        return self.by_outcome(Outcome.MATCHED)

    @property
    def not_evaluable(self) -> list[RuleResult]:
        return self.by_outcome(Outcome.NOT_EVALUABLE)

    def to_json(self, indent: int | None = 2) -> str:
        """Deterministic JSON: fixed key order, no timestamps."""
        return self.model_dump_json(indent=indent)
