"""Terminal presentation of the analyses: ``explain``, ``diff``, ``backtest`` and ``rules test``.

Reads their reports; never computes them.
"""

from __future__ import annotations

from screener.analysis.backtest import BacktestReport, show_interval, show_lift, show_share
from screener.analysis.backtest.report import warned_line
from screener.analysis.diff import PackDiff
from screener.analysis.explain import Explanation, RuleExplanation
from screener.analysis.ruletests import RunReport
from screener.cli.report import VERDICT_STYLE, console, print_table
from screener.screening.result import Outcome, ScoreRange, Verdict
from screener.texts import format_percent

OUTCOME_STYLE = {
    Outcome.MATCHED: "[green]matched[/]",
    Outcome.NOT_MATCHED: "[dim]not matched[/]",
    Outcome.NOT_EVALUABLE: "[yellow]not evaluable[/]",
}


def print_explanation(explanation: Explanation) -> None:
    """A table: one block of rows per rule, one row per comparison."""
    from rich.markup import escape
    from rich.table import Table

    out = console()
    verdict = f"[{VERDICT_STYLE[explanation.verdict]}]{explanation.verdict.value.upper()}[/]"
    span = explanation.score_range
    # Nothing open (the range is the score): nothing to add.
    spread = f" (range {span.scores}, {span.verdicts})" if span and span.worst != span.best else ""
    out.print(f"[bold]{escape(explanation.company)}[/]  {verdict}  score {explanation.score:.1f}/100{spread}")
    pack = explanation.pack
    out.print(f"pack {pack.name} {pack.version}, screened on {explanation.screened_on}")
    out.print(f"verdict margin: {escape(explanation.margin)}")
    for note in explanation.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    for warning in explanation.warnings:
        out.print(f"[yellow]data warning:[/] {escape(warning.fields[0])}: {escape(warning.message)} [{warning.check}]")
    table = Table(show_lines=False)
    for column, justify in (
        ("rule", "left"),
        ("outcome", "left"),
        ("points", "right"),
        ("test", "left"),
        ("value read", "left"),
        ("holds", "left"),
        ("margin", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    holds = {True: "[green]yes[/]", False: "[red]no[/]", None: "[yellow]unknown[/]"}
    for rule in explanation.rules:
        for number, check in enumerate(rule.checks):
            first = number == 0
            table.add_row(
                rule.id if first else "",
                OUTCOME_STYLE[rule.outcome] if first else "",
                earned(rule) if first else "",
                escape(check.test),
                escape(check.shown),
                holds[check.held],
                escape(check.margin or ""),
            )
    print_table(out, table, "rule", "outcome", "points", "holds")
    for rule in explanation.rules:
        if not rule.agrees:
            out.print(f"[bold red]engine disagreement:[/] {rule.id}: the engine said {rule.outcome.value}")


def earned(rule: RuleExplanation) -> str:
    """What the rule earned of what it could: ``+8 of +8``, ``0 of +10``; a knockout says whether it struck."""
    if rule.knockout:
        return "KNOCKOUT" if rule.outcome is Outcome.MATCHED else "knockout: no"
    earned_points = f"{rule.earned:+d}" if rule.earned else "0"
    return f"{earned_points} of {rule.points:+d}"


def print_diff(diff: PackDiff) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    old, new = diff.old, diff.new
    out.print(
        f"[bold]{old.name} {old.version}[/] ({old.hash[:12]}) → [bold]{new.name} {new.version}[/] ({new.hash[:12]}), "
        f"screened on {diff.screened_on}, {len(diff.companies)} companies"
    )
    for setting in diff.settings:
        out.print(f"  pack: {setting}")
    warned = [c for c in diff.companies if c.warnings]
    if warned:
        names = ", ".join(f"{c.company} ({'; '.join(c.warnings)})" for c in warned)
        out.print(f"[yellow]data warnings:[/] {len(warned)} of the inputs: {escape(names)}")
    by_file = {c.file: c for c in diff.companies}

    def verdict(v: Verdict) -> str:
        return f"[{VERDICT_STYLE[v]}]{v.value}[/]"

    if diff.verdict_changes:
        table = Table(title=f"Verdict changes ({len(diff.verdict_changes)})", title_justify="left")
        for column in ("company", "old", "new", "score", "rules"):
            table.add_column(column)
        for file in diff.verdict_changes:
            c = by_file[file]
            table.add_row(
                escape(c.company),
                verdict(c.old_verdict),
                verdict(c.new_verdict),
                f"{c.old_score:.1f} → {c.new_score:.1f}{_spans(c.new_range)}",
                escape("\n".join(r.describe() for r in c.rules) or "(pack settings)"),
            )
        print_table(out, table, "company", "old", "new", "change", "score")
    else:
        out.print("No verdict changes.")
    if diff.biggest_moves:
        table = Table(title="Biggest score moves", title_justify="left")
        for column, justify in (("company", "left"), ("change", "right"), ("score", "right"), ("rules", "left")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for file in diff.biggest_moves:
            c = by_file[file]
            table.add_row(
                escape(c.company),
                f"{c.delta:+.1f}",
                f"{c.old_score:.1f} → {c.new_score:.1f}{_spans(c.new_range)}",
                escape("\n".join(r.describe() for r in c.rules)),
            )
        print_table(out, table, "company", "old", "new", "change", "score")
    else:
        out.print("No score changes.")


def _spans(span: ScoreRange | None) -> str:
    """The new pack's score range after the score, when some rule is open: `` (range 58.0–81.5)``."""
    return f" (range {span.scores})" if span is not None and span.worst != span.best else ""


def print_backtest(report: BacktestReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    from screener.analysis.backtest.report import (
        IN_SAMPLE,
        held_out_line,
        labels_line,
        rejected_line,
        show_cut,
        sweep_rows,
        ties_text,
    )

    out = console()
    out.print(
        f"[bold]{escape(report.pack)} {report.version}[/]: {report.companies} companies, {report.positives} positive "
        f"(base rate {show_share(report.base_rate)}; {escape(labels_line(report))}); {escape(rejected_line(report))}; "
        f"95% bootstrap intervals, {report.resamples} resamples, seed {report.seed}"
    )
    if report.warned:
        out.print(f"[yellow]data warnings:[/] {warned_line(report)}: their scores rest on implausible values")
    out.print(f"ROC AUC of the score: {show_interval(report.auc, percent=False)}")
    h = report.heldout
    if h is not None:
        out.print(
            f"[bold]held-out[/] ({escape(held_out_line(report))}): precision {show_interval(h.precision)}, recall "
            f"{show_interval(h.recall)}, F0.5 {show_interval(h.f05)}, lift {show_lift(h.lift)}"
            + (f", ROC AUC {show_interval(h.auc, percent=False)}" if h.auc is not None else "")
        )
    else:
        out.print(f"[dim]{escape(held_out_line(report))}[/]")
    b = report.best_cut
    if b is not None:
        out.print(
            f"best score cut (in-sample): {show_cut(b.cut)}, {b.flagged} picked: precision {show_interval(b.precision)}, "
            f"recall {show_interval(b.recall)}, F0.5 {show_interval(b.f05)}, lift {show_lift(b.lift)}"
        )
    out.print(f"[dim]{IN_SAMPLE}.[/]")
    sweep = Table(title="Threshold sweep", title_justify="left")
    for column in ("score cut", "picked", "precision", "recall", "F0.5", "lift"):
        sweep.add_column(column, justify="right")
    for r in sweep_rows(report.sweep):
        sweep.add_row(
            f"{show_cut(r.cut)}{' best' if r.best else ''}", str(r.flagged), show_share(r.precision),
            show_share(r.recall), show_share(r.f05), "n/a" if r.lift is None else f"{r.lift:.2f}×",
        )  # fmt: skip
    out.print(sweep)
    verdicts = Table(title="Verdicts against labels", title_justify="left")
    for column in ("verdict", "labelled positive", "labelled negative"):
        verdicts.add_column(column)
    for row in report.by_verdict:
        verdicts.add_row(row.verdict.value, str(row.positive), str(row.negative))
    out.print(verdicts)
    cut = Table(title="Verdict cut-offs", title_justify="left")
    for column in ("cut-off", "TP", "FP", "FN", "TN", "precision", "recall", "F0.5", "lift"):
        cut.add_column(column, overflow="fold")
    for c in report.cutoffs:
        m = c.confusion
        cut.add_row(
            c.cutoff,
            str(m.true_positive),
            str(m.false_positive),
            str(m.false_negative),
            str(m.true_negative),
            show_interval(c.precision),
            show_interval(c.recall),
            show_interval(c.f05),
            show_lift(c.lift),
        )
    out.print(cut)
    calibration = Table(title="Calibration", title_justify="left")
    for column in ("score", "companies", "positive", "share positive"):
        calibration.add_column(column)
    for band in report.calibration:
        calibration.add_row(band.band, str(band.companies), str(band.positives), show_interval(band.share))
    out.print(calibration)
    at_k = Table(title="Precision at k", title_justify="left")
    for column in ("k", "precision", "lift", "tied across the k-th place"):
        at_k.add_column(column)
    for p in report.precision_at_k:
        at_k.add_row(str(p.k), show_interval(p.precision), show_lift(p.lift), ties_text(p.tied, p.tied_inside))
    out.print(at_k)
    rules = Table(title="Rules", title_justify="left")
    for column in ("rule", "points", "coverage", "hit rate", "fired", "precision when fired", "lift"):
        rules.add_column(column)
    for rule in report.rules:
        rules.add_row(
            f"{rule.id}{' ⚠' if rule.warning else ''}", "knockout" if rule.knockout else f"{rule.points:+d}",
            format_percent(rule.coverage), show_share(rule.hit_rate), str(rule.fired), show_interval(rule.precision_when_fired),
            show_lift(rule.lift),
        )  # fmt: skip
    print_table(out, rules, "rule")


def print_rule_tests(report: RunReport) -> None:
    import click

    for result in report.results:
        mark = click.style("PASS", fg="green") if result.passed else click.style("FAIL", fg="red", bold=True)
        click.echo(f"{mark}  {result.name}")
        for failure in result.failures:
            click.echo(f"      {result.location}: {failure}")
    passed = len(report.results) - len(report.failed)
    click.echo(f"{report.pack.name} {report.pack.version}: {passed} passed, {len(report.failed)} failed")
    exercised = len(report.pack.rules) - len(report.uncovered)
    click.echo(
        f"rule coverage: {exercised}/{len(report.pack.rules)} rules exercised ({format_percent(report.coverage)})"
    )
    if report.uncovered:
        click.echo(f"not exercised by any test: {', '.join(report.uncovered)}")
