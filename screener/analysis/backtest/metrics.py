"""The backtest's metrics: pure functions of the screened, labelled cases, with seeded bootstrap intervals.

Every interval is the 2.5th to 97.5th percentile of the statistic over bootstrap resamples of
the companies (drawn with replacement, seeded), except the calibration bands' shares, which are
Wilson intervals. The score sweep and the ROC curve rank companies by score, knocked-out ones
below every score; precision@k ranks them as every ranked view does
(:mod:`screener.screening.ranking`), and counts the companies tied across the k-th place at
their expected share, so the figure does not depend on the order the rows came in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from screener.analysis.backtest.bootstrap import Bootstrap, Order, Statistic, total
from screener.analysis.backtest.models import (
    CUTOFFS,
    BacktestReport,
    BestCut,
    CalibrationBand,
    Case,
    Confusion,
    CutoffMetrics,
    Interval,
    LabelVocabulary,
    PrecisionAtK,
    RocPoint,
    RuleMetrics,
    ScoreBin,
    SweepRow,
    VerdictRow,
)
from screener.screening.result import Outcome, Verdict


def measure(
    pack: str,
    version: str,
    specs: Sequence[tuple[str, int, bool]],
    cases: Sequence[Case],
    ks: Sequence[int] = (5, 10, 20),
    resamples: int = 1000,
    seed: int = 0,
    labels: LabelVocabulary | None = None,
) -> BacktestReport:
    """Every in-sample figure of the report (``specs``: each rule's id, points and knockout), seeded. Pure."""
    boot = Bootstrap(cases, resamples, seed)
    positives = sum(c.label for c in cases)
    return BacktestReport(
        pack=pack,
        version=version,
        labels=labels or LabelVocabulary(column="label", positive=["1"], negative=["0"]),
        companies=len(cases),
        positives=positives,
        base_rate=round(positives / len(cases), 4) if cases else 0.0,
        auc=boot.interval(boot.auc),
        by_verdict=by_verdict(cases),
        cutoffs=cutoffs(cases, boot),
        sweep=sweep(cases),
        best_cut=best_cut(cases, boot),
        roc=roc(cases),
        calibration=calibration(cases),
        precision_at_k=at_k(cases, ks, boot),
        rules=rules(specs, cases, boot),
        score_bins=score_bins(cases),
        resamples=resamples,
        seed=seed,
    )


# --- counting ------------------------------------------------------------------------------------


def confusion(cases: Sequence[Case], picked: Callable[[Case], bool]) -> Confusion:
    tp = fp = fn = tn = 0
    for case in cases:
        said_yes = picked(case)
        if said_yes and case.label:
            tp += 1
        elif said_yes:
            fp += 1
        elif case.label:
            fn += 1
        else:
            tn += 1
    return Confusion(true_positive=tp, false_positive=fp, false_negative=fn, true_negative=tn)


def confusion_of(cases: Sequence[Case], indexes: Sequence[int]) -> Confusion:
    """The confusion matrix of picking the cases at ``indexes``."""
    chosen = set(indexes)
    tp = sum(cases[i].label for i in chosen)
    positives = sum(c.label for c in cases)
    return Confusion(
        true_positive=tp,
        false_positive=len(chosen) - tp,
        false_negative=positives - tp,
        true_negative=len(cases) - len(chosen) - (positives - tp),
    )


def precision(c: Confusion) -> float | None:
    said_yes = c.true_positive + c.false_positive
    return c.true_positive / said_yes if said_yes else None


def recall(c: Confusion) -> float | None:
    actual = c.true_positive + c.false_negative
    return c.true_positive / actual if actual else None


def f05(c: Confusion) -> float | None:
    """F-beta with beta 0.5: precision weighs more, as a partner's time is the scarce resource."""
    p, r = precision(c), recall(c)
    if p is None or r is None:
        return None
    return 0.0 if p + r == 0 else 1.25 * p * r / (0.25 * p + r)


def base_rate(cases: Sequence[Case]) -> float | None:
    return sum(c.label for c in cases) / len(cases) if cases else None


def lift_of(c: Confusion, base: float | None) -> float | None:
    p = precision(c)
    return p / base if p is not None and base else None


def at_cut(cut: float) -> Callable[[Case], bool]:
    return lambda case: not case.knocked_out and case.score >= cut


# --- ranking quality -----------------------------------------------------------------------------


def auc(cases: Sequence[Case]) -> float | None:
    """ROC AUC of the score (ties count half): the chance a positive outranks a negative."""
    return Order(cases).auc([1] * len(cases))


def sweep(cases: Sequence[Case]) -> list[SweepRow]:
    """Every distinct score as a cut, lowest first, the best (highest F0.5; of equal ones the highest cut) marked."""
    positives = sum(c.label for c in cases)
    base = positives / len(cases) if cases else 0.0
    ranked = [c for c in cases if not c.knocked_out]
    cuts = sorted({c.score for c in ranked})
    rows = []
    # From the highest cut down, the flagged set only grows: one pass counts them all.
    by_score = sorted(ranked, key=lambda c: -c.score)
    tp = flagged = index = 0
    for cut in reversed(cuts):
        while index < len(by_score) and by_score[index].score >= cut:
            tp += by_score[index].label
            flagged += 1
            index += 1
        c = Confusion(true_positive=tp, false_positive=flagged - tp, false_negative=positives - tp, true_negative=0)
        p = precision(c)
        rows.append(
            SweepRow(
                cut=cut,
                flagged=flagged,
                precision=_round(p),
                recall=_round(tp / positives) if positives else 0.0,
                f05=_round(f05(c)),
                lift=_round(p / base if p is not None and base else None),
            )
        )
    rows.reverse()
    best = best_index(rows)
    if best is not None:
        rows[best] = rows[best].model_copy(update={"best": True})
    return rows


def best_index(rows: Sequence[SweepRow]) -> int | None:
    scored = [(row.f05, row.cut, i) for i, row in enumerate(rows) if row.f05 is not None]
    return max(scored)[2] if scored else None


def best_cut_of(cases: Sequence[Case]) -> float | None:
    """The cut the sweep of ``cases`` marks best."""
    rows = sweep(cases)
    best = best_index(rows)
    return None if best is None else rows[best].cut


def best_cut(cases: Sequence[Case], boot: Bootstrap) -> BestCut | None:
    cut = best_cut_of(cases)
    if cut is None:
        return None
    picked = at_cut(cut)
    matrix = confusion(cases, picked)
    chosen = boot.picked([i for i, c in enumerate(cases) if picked(c)])
    return BestCut(
        cut=cut,
        flagged=matrix.true_positive + matrix.false_positive,
        confusion=matrix,
        precision=boot.interval(chosen.precision),
        recall=boot.interval(chosen.recall),
        f05=boot.interval(chosen.f05),
        lift=boot.interval(chosen.lift),
    )


def roc(cases: Sequence[Case]) -> list[RocPoint]:
    """The ROC curve: one point per distinct score cut, from picking nobody to picking everyone."""
    positives = sum(c.label for c in cases)
    negatives = len(cases) - positives
    if not positives or not negatives:
        return []
    points = [RocPoint(cut=101.0, false_positive_rate=0.0, true_positive_rate=0.0)]
    ordered = sorted(cases, key=lambda c: -c.ranked)
    tp = fp = 0
    for number, case in enumerate(ordered):
        tp += case.label
        fp += not case.label
        if number + 1 == len(ordered) or ordered[number + 1].ranked != case.ranked:
            points.append(
                RocPoint(
                    cut=case.ranked,
                    false_positive_rate=round(fp / negatives, 4),
                    true_positive_rate=round(tp / positives, 4),
                )
            )
    return points


def precision_at_k(cases: Sequence[Case], k: int) -> tuple[float | None, int, int]:
    """Expected precision of the top ``k`` over the orderings of ties, the companies tied across the k-th
    place, and how many of them the top k holds (0, 0 when no tie straddles it)."""
    return Order(cases).precision_at_k([1] * len(cases), k)


# --- tables --------------------------------------------------------------------------------------


def cutoffs(cases: Sequence[Case], boot: Bootstrap) -> list[CutoffMetrics]:
    found = []
    for name, accepted in CUTOFFS.items():
        indexes = [i for i, c in enumerate(cases) if c.verdict in accepted]
        chosen = boot.picked(indexes)
        found.append(
            CutoffMetrics(
                cutoff=name,
                confusion=confusion_of(cases, indexes),
                precision=boot.interval(chosen.precision),
                recall=boot.interval(chosen.recall),
                f05=boot.interval(chosen.f05),
                lift=boot.interval(chosen.lift),
            )
        )
    return found


def by_verdict(cases: Sequence[Case]) -> list[VerdictRow]:
    return [
        VerdictRow(
            verdict=v,
            positive=sum(c.verdict is v and c.label for c in cases),
            negative=sum(c.verdict is v and not c.label for c in cases),
        )
        for v in Verdict
    ]


def at_k(cases: Sequence[Case], ks: Sequence[int], boot: Bootstrap) -> list[PrecisionAtK]:
    found = []
    for k in ks:
        value, tied, inside = precision_at_k(cases, k)
        if value is None:
            continue
        at = boot.precision_at_k(k)

        def lift(weights: Sequence[int], at: Statistic = at) -> float | None:
            p, positives = at(weights), total(weights, boot.positives)
            return p / (positives / len(weights)) if p is not None and positives else None

        found.append(
            PrecisionAtK(k=k, precision=boot.interval(at), lift=boot.interval(lift), tied=tied, tied_inside=inside)
        )
    return found


def calibration(cases: Sequence[Case]) -> list[CalibrationBand]:
    bands: list[list[Case]] = [[] for _ in range(10)]
    knocked = [c for c in cases if c.knocked_out]
    for case in cases:
        if not case.knocked_out:
            bands[min(int(case.score // 10), 9)].append(case)
    found = []
    for number, band in enumerate(bands):
        found.append(_band(f"{number * 10}–{number * 10 + 10}", band))
    if knocked:
        found.append(_band("knocked out", knocked))
    return found


def _band(name: str, cases: Sequence[Case]) -> CalibrationBand:
    positives = sum(c.label for c in cases)
    low, high = wilson(positives, len(cases))
    share = Interval(value=_round(positives / len(cases)) if cases else None, low=low, high=high)
    return CalibrationBand(band=name, companies=len(cases), positives=positives, share=share)


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """The 95% Wilson score interval of a proportion."""
    if not n:
        return None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return _round(max(0.0, centre - half)), _round(min(1.0, centre + half))


def rules(specs: Sequence[tuple[str, int, bool]], cases: Sequence[Case], boot: Bootstrap) -> list[RuleMetrics]:
    """Per rule: coverage, hit rate, precision when fired and lift over the base rate, with intervals; a
    warning for a penalty whose companies do better than the base rate, or a bonus whose do worse."""
    base = base_rate(cases)
    found = []
    for rule_id, points, knockout in specs:
        evaluable = [c for c in cases if c.outcomes[rule_id] is not Outcome.NOT_EVALUABLE]
        fired = boot.picked([i for i, c in enumerate(cases) if c.outcomes[rule_id] is Outcome.MATCHED])
        precision_when_fired = boot.interval(fired.precision)
        found.append(
            RuleMetrics(
                id=rule_id,
                points=points,
                knockout=knockout,
                coverage=round(len(evaluable) / len(cases), 4) if cases else 0.0,
                hit_rate=round(len(fired.indexes) / len(evaluable), 4) if evaluable else None,
                fired=len(fired.indexes),
                precision_when_fired=precision_when_fired,
                lift=boot.interval(fired.lift),
                warning=_rule_warning(rule_id, points, knockout, precision_when_fired, base, len(fired.indexes)),
            )
        )
    return found


def _rule_warning(
    rule_id: str, points: int, knockout: bool, fired: Interval, base: float | None, count: int
) -> str | None:
    share = fired.value
    if share is None or base is None:
        return None
    penalty = knockout or points < 0
    wrong = share > base if penalty else share < base
    if not wrong:
        return None
    what = "knockout" if knockout else "penalty" if penalty else "bonus"
    picks = "winners" if penalty else "losers"
    shown = f"{share:.0%}"
    if fired.low is not None and fired.high is not None:
        shown += f" [{fired.low:.0%}–{fired.high:.0%}]"
        clear = fired.low > base if penalty else fired.high < base
        noise = "" if clear else "; the interval includes the base rate, so it may be noise"
    else:
        noise = ""
    side = "above" if penalty else "below"
    return (
        f"{what} rule {rule_id} picks {picks}: {shown} of the {count} companies it fired on are positive, "
        f"{side} the base rate of {base:.0%}{noise}"
    )


def score_bins(cases: Sequence[Case]) -> list[ScoreBin]:
    counts = [[0, 0] for _ in range(10)]
    for case in cases:
        counts[min(int(case.score // 10), 9)][0 if case.label else 1] += 1
    return [ScoreBin(low=10 * i, high=10 * i + 10, positive=p, negative=n) for i, (p, n) in enumerate(counts)]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
