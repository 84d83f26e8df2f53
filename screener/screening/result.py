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


class ScreeningResult(_Out):
    company: CompanyRef
    screened_on: dt.date
    pack: PackRef
    score: float = Field(description="0–100: where the earned points fall between the worst and best possible")
    verdict: Verdict
    coverage: float = Field(description="share of the pack's rule weight that could be evaluated (0..1)")
    points: int
    knockouts: list[str] = Field(description="ids of matched knockout rules")
    categories: list[CategoryScore]
    rules: list[RuleResult] = Field(description="every rule of the pack, in pack order")
    questions: list[str] = Field(description="open diligence questions raised by missing data")
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
