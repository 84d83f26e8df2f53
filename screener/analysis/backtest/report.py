"""The backtest report as a file: Markdown, or a self-contained HTML page with SVG charts.

Both say which figures are in-sample (every figure but the held-out estimate: the pack is not
fitted to the labels, but the best cut is chosen from them) and carry every interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from screener.analysis.backtest.models import BacktestReport, Interval, SweepRow


def show_share(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%}" if percent else f"{value:.2f}"


def show_interval(i: Interval | None, percent: bool = True) -> str:
    if i is None or i.value is None:
        return "n/a"
    if i.low is None or i.high is None:
        return show_share(i.value, percent)
    return f"{show_share(i.value, percent)} [{show_share(i.low, percent)}–{show_share(i.high, percent)}]"


def show_lift(i: Interval | None) -> str:
    if i is None or i.value is None:
        return "n/a"
    if i.low is None or i.high is None:
        return f"{i.value:.2f}×"
    return f"{i.value:.2f}× [{i.low:.2f}–{i.high:.2f}]"


def show_cut(cut: float) -> str:
    return f"{cut:g}"


def warned_line(report: BacktestReport) -> str:
    """``3 companies (money-unit-slip 2, team-zero 1)``: whose data drew plausibility warnings."""
    checks = ", ".join(f"{check} {count}" for check, count in report.data_warnings.items())
    return f"{report.warned} {'company' if report.warned == 1 else 'companies'} ({checks})"


def labels_line(report: BacktestReport) -> str:
    labels = report.labels
    negative = ", ".join(labels.negative) if labels.negative else "every other value"
    return f"column {labels.column}: positive {', '.join(labels.positive)}; negative {negative}"


def rejected_line(report: BacktestReport) -> str:
    return f"{report.rejected} row(s) rejected (see {report.rejects})" if report.rejected else "no row rejected"


IN_SAMPLE = (
    "Every figure but the held-out estimate is in-sample: measured on the companies it describes. The pack "
    "is not fitted to these labels, but the best cut is chosen from them, so its figures flatter it"
)


def held_out_line(report: BacktestReport) -> str:
    h = report.heldout
    if h is None:
        return "No held-out estimate: pass --holdout FRACTION or --folds K for one."
    if h.method == "holdout":
        how = (
            f"{h.fraction:.0%} of the companies held out (seed {h.seed}): the cut, {show_cut(h.cuts[0])}, chosen on "
            f"{h.chosen_on}, measured on the other {h.measured_on}"
        )
    else:
        how = (
            f"{h.folds} folds (seed {h.seed}): each fold measured at the cut chosen on the others "
            f"({', '.join(map(show_cut, h.cuts))})"
        )
    return how


def sweep_rows(sweep: Sequence[SweepRow], step: int = 10) -> list[SweepRow]:
    """The rows of the sweep worth a table: the first cut at or above each multiple of ``step``, and the best."""
    chosen: dict[float, SweepRow] = {}
    for mark in range(0, 101, step):
        row = next((r for r in sweep if r.cut >= mark), None)
        if row is not None:
            chosen[row.cut] = row
    for row in sweep:
        if row.best:
            chosen[row.cut] = row
    return [chosen[c] for c in sorted(chosen)]


def markdown(report: BacktestReport) -> str:
    """The report as Markdown (for a file or a pull request)."""
    lines = [
        f"# Backtest of {report.pack} {report.version}",
        "",
        f"{report.companies} companies, {report.positives} labelled positive (base rate {show_share(report.base_rate)}; "
        f"{labels_line(report)}); {rejected_line(report)}. Intervals: 95% percentile bootstrap, {report.resamples} "
        f"resamples, seed {report.seed} (calibration: Wilson).",
        "",
        f"{IN_SAMPLE}.",
        *(["", f"**Data warnings:** {warned_line(report)}."] if report.warned else []),
    ]
    if report.warnings:
        lines += ["", "## Warnings", "", *(f"- {w}" for w in report.warnings)]
    lines += ["", "## Held-out estimate", "", held_out_line(report) + ("." if report.heldout else "")]
    h = report.heldout
    if h is not None:
        m = h.confusion
        lines += [
            "",
            "| TP | FP | FN | TN | precision | recall | F0.5 | lift | ROC AUC |",
            "|---:|---:|---:|---:|---|---|---|---|---|",
            f"| {m.true_positive} | {m.false_positive} | {m.false_negative} | {m.true_negative} | "
            f"{show_interval(h.precision)} | {show_interval(h.recall)} | {show_interval(h.f05)} | {show_lift(h.lift)} | "
            f"{show_interval(h.auc, percent=False)} |",
        ]
    lines += ["", "## Ranking (in-sample)", "", f"ROC AUC of the score: {show_interval(report.auc, percent=False)}."]
    b = report.best_cut
    if b is not None:
        lines += [
            "",
            f"Best score cut (highest F0.5): **{show_cut(b.cut)}**, {b.flagged} companies at or above it: precision "
            f"{show_interval(b.precision)}, recall {show_interval(b.recall)}, F0.5 {show_interval(b.f05)}, lift "
            f"{show_lift(b.lift)}.",
        ]
    lines += ["", "## Threshold sweep (in-sample)", "", "| score cut | picked | precision | recall | F0.5 | lift |"]
    lines.append("|---:|---:|---:|---:|---:|---:|")
    for r in sweep_rows(report.sweep):
        mark = " **best**" if r.best else ""
        lift = "n/a" if r.lift is None else f"{r.lift:.2f}×"
        lines.append(
            f"| {show_cut(r.cut)}{mark} | {r.flagged} | {show_share(r.precision)} | {show_share(r.recall)} "
            f"| {show_share(r.f05)} | {lift} |"
        )
    lines += ["", "## Calibration (in-sample)", "", "| score | companies | positive | share positive |"]
    lines.append("|---|---:|---:|---|")
    lines += [f"| {c.band} | {c.companies} | {c.positives} | {show_interval(c.share)} |" for c in report.calibration]
    lines += [
        "",
        "## Verdicts against labels (in-sample)",
        "",
        "| verdict | labelled positive | labelled negative |",
        "|---|---:|---:|",
        *(f"| {row.verdict.value} | {row.positive} | {row.negative} |" for row in report.by_verdict),
        "",
        "## Verdict cut-offs (in-sample)",
        "",
        "| cut-off | TP | FP | FN | TN | precision | recall | F0.5 | lift |",
        "|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for c in report.cutoffs:
        m = c.confusion
        lines.append(
            f"| {c.cutoff} | {m.true_positive} | {m.false_positive} | {m.false_negative} | {m.true_negative} "
            f"| {show_interval(c.precision)} | {show_interval(c.recall)} | {show_interval(c.f05)} | {show_lift(c.lift)} |"
        )
    lines += ["", "## Score distribution", "", "| score | positive | negative |", "|---|---:|---:|"]
    lines += [f"| {b.low}–{b.high} | {b.positive} | {b.negative} |" for b in report.score_bins]
    lines += ["", "## Precision at k (ranked as every view ranks; in-sample)", ""]
    lines += ["| k | precision | lift | tied across the k-th place |", "|---:|---|---|---|"]
    for p in report.precision_at_k:
        lines.append(
            f"| {p.k} | {show_interval(p.precision)} | {show_lift(p.lift)} | {ties_text(p.tied, p.tied_inside)} |"
        )
    lines += [
        "",
        "## Rules (in-sample)",
        "",
        "| rule | points | coverage | hit rate | fired | precision when fired | lift |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for rule in report.rules:
        points = "knockout" if rule.knockout else f"{rule.points:+d}"
        flag = " ⚠" if rule.warning else ""
        lines.append(
            f"| {rule.id}{flag} | {points} | {show_share(rule.coverage)} | {show_share(rule.hit_rate)} | {rule.fired} "
            f"| {show_interval(rule.precision_when_fired)} | {show_lift(rule.lift)} |"
        )
    return "\n".join(lines) + "\n"


def ties_text(tied: int, inside: int) -> str:
    return (
        f"{tied} companies tie, {inside} of them inside the top k (counted at their expected share)" if tied else "none"
    )


@dataclass(frozen=True)
class Charts:
    """Geometry of the HTML report's charts, computed here so the template only places it."""

    tallest: int  #: the largest score bin
    roc: str  #: SVG polyline points of the ROC curve in a 200×200 box
    precision: str  #: SVG polyline points of precision by score cut, in a 300×200 box
    recall: str
    f05: str
    best_x: float | None  #: where the best cut is on the sweep chart


def charts(report: BacktestReport) -> Charts:
    def points(pairs: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in pairs)

    roc = points([(200 * p.false_positive_rate, 200 - 200 * p.true_positive_rate) for p in report.roc])

    def line(values: Sequence[tuple[float, float | None]]) -> str:
        return points([(3 * cut, 200 - 200 * v) for cut, v in values if v is not None])

    rows = report.sweep
    best = next((r.cut for r in rows if r.best), None)
    return Charts(
        tallest=max((max(b.positive, b.negative) for b in report.score_bins), default=0) or 1,
        roc=roc,
        precision=line([(r.cut, r.precision) for r in rows]),
        recall=line([(r.cut, r.recall) for r in rows]),
        f05=line([(r.cut, r.f05) for r in rows]),
        best_x=None if best is None else round(3 * best, 1),
    )


def html(report: BacktestReport) -> str:
    """The report as a self-contained HTML page: score distribution, ROC curve and threshold sweep as SVG."""
    import jinja2

    from screener import texts
    from screener.resources import packaged

    env = texts.environment(jinja2.FileSystemLoader(str(packaged("templates"))), html=True)
    return env.get_template("reports/backtest.html.j2").render(
        report=report, charts=charts(report), percent=show_share, interval=show_interval, lift=show_lift,
        cut=show_cut, sweep=sweep_rows(report.sweep), in_sample=IN_SAMPLE, held_out=held_out_line(report),
        labels=labels_line(report), rejected=rejected_line(report), ties=ties_text,
        warned=warned_line(report) if report.warned else None,
    )  # fmt: skip
