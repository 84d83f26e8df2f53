"""Terminal presentation of the analyses: ``explain``, ``diff``, ``backtest`` and ``rules test``.

Reads their reports; never computes them.
"""

from __future__ import annotations

from screener.analysis.backtest import BacktestReport, show_interval, show_share
from screener.analysis.backtest.report import warned_line
from screener.analysis.diff import PackDiff
from screener.analysis.explain import Explanation, RuleExplanation
from screener.analysis.ruletests import RunReport
from screener.cli.report import VERDICT_STYLE, console
from screener.screening.result import Outcome, Verdict

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
    out.print(f"[bold]{escape(explanation.company)}[/]  {verdict}  score {explanation.score:.1f}/100")
    pack = explanation.pack
    out.print(f"pack {pack.name} {pack.version}, screened on {explanation.screened_on}")
    out.print(f"verdict margin: {escape(explanation.margin)}")
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
    out.print(table)
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
                f"{c.old_score:.1f} → {c.new_score:.1f}",
                escape("\n".join(r.describe() for r in c.rules) or "(pack settings)"),
            )
        out.print(table)
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
                f"{c.old_score:.1f} → {c.new_score:.1f}",
                escape("\n".join(r.describe() for r in c.rules)),
            )
        out.print(table)
    else:
        out.print("No score changes.")


def print_backtest(report: BacktestReport) -> None:
    from rich.table import Table

    out = console()
    out.print(
        f"[bold]{report.pack} {report.version}[/]: {report.companies} companies, {report.positives} positive "
        f"(base rate {show_share(report.base_rate)}); 95% bootstrap intervals, {report.resamples} resamples, seed {report.seed}"
    )
    if report.warned:
        out.print(f"[yellow]data warnings:[/] {warned_line(report)}: their scores rest on implausible values")
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
            "n/a" if c.lift is None else f"{c.lift:.2f}×",
        )
    out.print(cut)
    at_k = Table(title="Precision at k", title_justify="left")
    for column in ("k", "precision", "lift"):
        at_k.add_column(column)
    for p in report.precision_at_k:
        at_k.add_row(str(p.k), show_interval(p.precision), "n/a" if p.lift is None else f"{p.lift:.2f}×")
    out.print(at_k)
    rules = Table(title="Rules", title_justify="left")
    for column in ("rule", "coverage", "hit rate", "fired", "precision when fired"):
        rules.add_column(column)
    for r in report.rules:
        rules.add_row(
            r.id, show_share(r.coverage), show_share(r.hit_rate), str(r.fired), show_share(r.precision_when_fired)
        )
    out.print(rules)


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
    click.echo(f"rule coverage: {exercised}/{len(report.pack.rules)} rules exercised ({report.coverage:.0%})")
    if report.uncovered:
        click.echo(f"not exercised by any test: {', '.join(report.uncovered)}")
