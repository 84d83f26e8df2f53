"""The backtest's report and the cases it is computed from, as typed, documented models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    pass

from screener.screening.result import Outcome, Verdict

#: Cut-offs: the verdicts counted as "the screen says yes".
CUTOFFS: dict[str, frozenset[Verdict]] = {
    "strong-fit": frozenset({Verdict.STRONG_FIT}),
    "review-or-better": frozenset({Verdict.STRONG_FIT, Verdict.REVIEW}),
}


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Case:
    """One screened, labelled company: what the metrics are computed from."""

    score: float
    verdict: Verdict
    label: bool
    outcomes: Mapping[str, Outcome]
    coverage: float = 1.0
    knocked_out: bool = False


class Interval(_Out):
    value: float | None
    low: float | None = Field(None, description="2.5th percentile of the bootstrap")
    high: float | None = Field(None, description="97.5th percentile of the bootstrap")


class Confusion(_Out):
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int


class VerdictRow(_Out):
    """How many labelled-positive and -negative companies got this verdict."""

    verdict: Verdict
    positive: int
    negative: int


class CutoffMetrics(_Out):
    cutoff: str
    confusion: Confusion
    precision: Interval
    recall: Interval
    f05: Interval
    lift: float | None = Field(description="precision divided by the base rate")


class PrecisionAtK(_Out):
    k: int
    precision: Interval
    lift: float | None


class RuleMetrics(_Out):
    id: str
    coverage: float = Field(description="share of companies for which the rule could be evaluated")
    hit_rate: float | None = Field(description="share of evaluable companies it matched")
    fired: int
    precision_when_fired: float | None = Field(
        description="share of labelled-positive companies among those it matched"
    )


class ScoreBin(_Out):
    """How many labelled-positive and -negative companies scored in [low, high) (the last bin includes 100)."""

    low: int
    high: int
    positive: int
    negative: int


class BacktestReport(_Out):
    pack: str
    version: str
    companies: int
    positives: int
    base_rate: float
    by_verdict: list[VerdictRow] = Field(description="the verdict × label confusion table")
    cutoffs: list[CutoffMetrics]
    precision_at_k: list[PrecisionAtK]
    rules: list[RuleMetrics]
    score_bins: list[ScoreBin] = Field(description="score distribution of positives and negatives, in tens")
    resamples: int
    seed: int
    warned: int = Field(0, description="companies whose data drew plausibility warnings")
    data_warnings: dict[str, int] = Field(default_factory=dict, description="per check id: how many of those companies")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)
