"""The backtest's report and the cases it is computed from, as typed, documented models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

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
    key: str = ""  #: the company key
    name: str = ""
    line: int = 0  #: its row in the labels file
    notes: tuple[str, ...] = field(default=())  #: cells of its row left out of its profile
    knockouts: tuple[str, ...] = field(default=())  #: the knockout rules it matched
    #: the score range the rules it could not evaluate allow, and whether its verdict could change
    worst: float | None = None
    best: float | None = None
    could_change: bool = False

    @property
    def ranked(self) -> float:
        """What the score sweep and the ROC curve rank by: the score, a knocked-out company below every score."""
        return -1.0 if self.knocked_out else self.score


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
    lift: Interval = Field(description="precision divided by the base rate")


class SweepRow(_Out):
    """The screen's figures if every company scoring at least ``cut`` were picked (knocked-out ones never are)."""

    cut: float
    flagged: int = Field(description="companies at or above the cut")
    precision: float | None
    recall: float
    f05: float | None
    lift: float | None
    best: bool = Field(False, description="the cut with the highest F0.5 (of equal ones, the highest cut)")


class BestCut(_Out):
    """The sweep's best cut, with intervals."""

    cut: float
    flagged: int
    confusion: Confusion
    precision: Interval
    recall: Interval
    f05: Interval
    lift: Interval


class RocPoint(_Out):
    cut: float
    false_positive_rate: float
    true_positive_rate: float


class CalibrationBand(_Out):
    """The share of positives among the companies scoring in [low, high) (the last band includes 100)."""

    band: str = Field(description="'0–10' … '90–100', or 'knocked out'")
    companies: int
    positives: int
    share: Interval = Field(description="positives / companies, with a 95% Wilson interval")


class PrecisionAtK(_Out):
    k: int
    precision: Interval = Field(description="expected over the orderings of companies tied at the k-th place")
    lift: Interval
    tied: int = Field(0, description="companies tied (same verdict, knockout, score, coverage) across the k-th place")
    tied_inside: int = Field(0, description="how many of those the top k holds")


class RuleMetrics(_Out):
    id: str
    points: int
    knockout: bool
    coverage: float = Field(description="share of companies for which the rule could be evaluated")
    hit_rate: float | None = Field(description="share of evaluable companies it matched")
    fired: int
    precision_when_fired: Interval = Field(description="share of labelled-positive companies among those it matched")
    lift: Interval = Field(description="precision when fired divided by the base rate")
    warning: str | None = Field(None, description="a penalty that picks winners, or a bonus that picks losers")


class ScoreBin(_Out):
    """How many labelled-positive and -negative companies scored in [low, high) (the last bin includes 100)."""

    low: int
    high: int
    positive: int
    negative: int


class LabelVocabulary(_Out):
    column: str
    positive: list[str] = Field(description="label values counted positive")
    negative: list[str] = Field(description="label values counted negative (empty: every other value)")


class HeldOut(_Out):
    """Figures at a cut chosen on one part of the companies, measured on the other (never in-sample)."""

    method: str = Field(description="holdout or folds")
    fraction: float | None = Field(None, description="holdout: the share of companies held out")
    folds: int | None = Field(None, description="folds: how many")
    seed: int
    chosen_on: int = Field(description="companies the cut was chosen on (per fold, the others)")
    measured_on: int = Field(description="companies the figures are measured on (folds: all, each out of its fold)")
    cuts: list[float] = Field(description="the cut chosen (per fold, in fold order)")
    confusion: Confusion
    precision: Interval
    recall: Interval
    f05: Interval
    lift: Interval
    auc: Interval | None = Field(None, description="holdout: the ROC AUC of the held-out part")


class BacktestReport(_Out):
    pack: str
    version: str
    labels: LabelVocabulary
    companies: int
    positives: int
    base_rate: float
    rejected: int = Field(0, description="rows left out as bad (in the rejects file)")
    rejects: str | None = Field(None, description="the rejects file")
    warnings: list[str] = Field(default_factory=list, description="what the run noticed: columns, cells, rules")
    auc: Interval = Field(description="ROC AUC of the score (0.5: no better than chance)")
    by_verdict: list[VerdictRow] = Field(description="the verdict × label confusion table")
    cutoffs: list[CutoffMetrics]
    sweep: list[SweepRow] = Field(description="precision, recall, F0.5 and lift at every score cut")
    best_cut: BestCut | None
    roc: list[RocPoint]
    calibration: list[CalibrationBand]
    precision_at_k: list[PrecisionAtK]
    rules: list[RuleMetrics]
    score_bins: list[ScoreBin] = Field(description="score distribution of positives and negatives, in tens")
    heldout: HeldOut | None = Field(None, description="the honest estimate; every other figure is in-sample")
    resamples: int
    seed: int
    warned: int = Field(0, description="companies whose data drew plausibility warnings")
    data_warnings: dict[str, int] = Field(default_factory=dict, description="per check id: how many of those companies")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)
