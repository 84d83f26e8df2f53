"""The backtest report as a file: Markdown, or a self-contained HTML page with an SVG chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


from screener.analysis.backtest.models import BacktestReport, Interval


def show_share(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%}" if percent else f"{value:.2f}"


def show_interval(i: Interval) -> str:
    if i.value is None:
        return "n/a"
    if i.low is None or i.high is None:
        return show_share(i.value)
    return f"{show_share(i.value)} [{show_share(i.low)}–{show_share(i.high)}]"


def warned_line(report: BacktestReport) -> str:
    """``3 companies (money-unit-slip 2, team-zero 1)``: whose data drew plausibility warnings."""
    checks = ", ".join(f"{check} {count}" for check, count in report.data_warnings.items())
    return f"{report.warned} {'company' if report.warned == 1 else 'companies'} ({checks})"


def markdown(report: BacktestReport) -> str:
    """The report as Markdown (for a file or a pull request)."""
    lines = [
        f"# Backtest of {report.pack} {report.version}",
        "",
        f"{report.companies} companies, {report.positives} labelled positive (base rate {show_share(report.base_rate)}). "
        f"Intervals: 95% percentile bootstrap, {report.resamples} resamples, seed {report.seed}.",
        *(["", f"**Data warnings:** {warned_line(report)}."] if report.warned else []),
        "",
        "## Verdicts against labels",
        "",
        "| verdict | labelled positive | labelled negative |",
        "|---|---:|---:|",
        *(f"| {row.verdict.value} | {row.positive} | {row.negative} |" for row in report.by_verdict),
        "",
        "## Verdict cut-offs",
        "",
        "| cut-off | TP | FP | FN | TN | precision | recall | F0.5 | lift |",
        "|---|---:|---:|---:|---:|---|---|---|---:|",
    ]
    for c in report.cutoffs:
        m = c.confusion
        lift = "n/a" if c.lift is None else f"{c.lift:.2f}×"
        lines.append(
            f"| {c.cutoff} | {m.true_positive} | {m.false_positive} | {m.false_negative} | {m.true_negative} "
            f"| {show_interval(c.precision)} | {show_interval(c.recall)} | {show_interval(c.f05)} | {lift} |"
        )
    lines += ["", "## Score distribution", "", "| score | positive | negative |", "|---|---:|---:|"]
    lines += [f"| {b.low}–{b.high} | {b.positive} | {b.negative} |" for b in report.score_bins]
    lines += ["", "## Precision at k (ranked by score)", "", "| k | precision | lift |", "|---:|---|---:|"]
    for p in report.precision_at_k:
        lift = "n/a" if p.lift is None else f"{p.lift:.2f}×"
        lines.append(f"| {p.k} | {show_interval(p.precision)} | {lift} |")
    lines += [
        "",
        "## Rules",
        "",
        "| rule | coverage | hit rate | fired | precision when fired |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report.rules:
        lines.append(
            f"| {r.id} | {show_share(r.coverage)} | {show_share(r.hit_rate)} | {r.fired} | {show_share(r.precision_when_fired)} |"
        )
    return "\n".join(lines) + "\n"


def html(report: BacktestReport) -> str:
    """The report as a self-contained HTML page, with the score distribution drawn as an SVG chart."""
    import jinja2

    from screener import texts
    from screener.resources import packaged

    env = texts.environment(jinja2.FileSystemLoader(str(packaged("templates"))), html=True)
    tallest = max((max(b.positive, b.negative) for b in report.score_bins), default=0) or 1
    return env.get_template("reports/backtest.html.j2").render(report=report, tallest=tallest, percent=show_share)
