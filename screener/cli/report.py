"""Terminal and JSON presentation of screening results. Reads results; never computes them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import click

from screener.errors import Problem
from screener.screening.result import Outcome, ScreeningResult, Verdict
from screener.texts import format_percent

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from screener.jobs.screen import ScreenOutcome

VERDICT_STYLE = {Verdict.STRONG_FIT: "bold green", Verdict.REVIEW: "bold yellow", Verdict.PASS: "bold red"}


#: How wide output may grow when standard output is not a terminal (a pipe, a file): as wide as
#: its cells need, so that nothing is cut to a guessed 80 columns. $COLUMNS still wins.
PIPED_WIDTH = 10_000


def console() -> Console:
    """The console of standard output: the terminal's width, or when piped, as wide as the content."""
    import os

    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit with 1, the internal-error code; the CLI's edge stops quietly instead.
            self.quiet = True
            raise BrokenPipeError

    piped = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return _Console(file=sys.stdout, highlight=False, soft_wrap=False, width=PIPED_WIDTH if piped else None)


def keep_whole(table: Table, *headers: str) -> Table:
    """Never cut or wrap the cells of these columns (names, keys, verdicts, rule ids): the others give way.

    On a terminal too narrow for the table, the free-text columns wrap at whole words instead.
    """
    from rich.text import Text

    for column in table.columns:
        if str(column.header) in headers:
            column.no_wrap = True
            widths = [Text.from_markup(c).cell_len if isinstance(c, str) else 0 for c in column.cells]
            column.min_width = max([len(str(column.header)), *widths])
    return table


def print_table(out: Console, table: Table, *whole: str) -> None:
    """Print ``table`` with the ``whole`` columns' cells never cut (:func:`keep_whole`).

    Where even that cannot fit (a narrow terminal), each row is printed as ``column: value``
    lines instead, a blank line between rows: nothing is cut either way.
    """
    keep_whole(table, *whole)
    if _narrowest(table) <= out.width:
        out.print(table)
        return
    if table.title:
        out.print(table.title)
    headers = [str(c.header) for c in table.columns]
    for row in zip(*(list(c.cells) for c in table.columns), strict=True):
        for header, cell in zip(headers, row, strict=True):
            out.print(f"{header}: ", end="")
            out.print(cell)
        out.print()


def _narrowest(table: Table) -> int:
    """The fewest terminal columns ``table`` fits in: whole columns whole, the others one word wide."""
    from rich.text import Text

    width = len(table.columns) + 1  # the vertical borders
    for column in table.columns:
        words = [len(w) for c in column.cells if isinstance(c, str) for w in Text.from_markup(c).plain.split()]
        width += max([column.min_width or 0, *words, *(len(w) for w in str(column.header).split())]) + 2
    return width


def separator(out: Console) -> None:
    """A line between two results: the terminal's width, or a fixed one when piped."""
    if out.width >= PIPED_WIDTH:
        out.print("─" * 80)
    else:
        out.rule()


def print_json(results: Sequence[ScreeningResult]) -> None:
    """One JSON object for one result, a JSON list for several."""
    if len(results) == 1:
        click.echo(results[0].to_json())
    else:
        click.echo(json.dumps([json.loads(r.to_json()) for r in results], indent=2))


def echo_warnings(warnings: Iterable[Problem]) -> None:
    """Data warnings on stderr, one a line: ``warning: file:line:col: field: message [check-id]``."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def print_screenings(outcome: ScreenOutcome) -> None:
    out = console()
    for index, result in enumerate(outcome.results):
        if index:
            separator(out)
        print_result(out, result, outcome.warnings[index] if index < len(outcome.warnings) else None)
    for path in outcome.memos:
        out.print(f"memo: {path}")
    if outcome.database:
        out.print(f"saved {len(outcome.results)} screening(s) to {outcome.database}")


def print_result(out: Console, result: ScreeningResult, located: Sequence[Problem] | None = None) -> None:
    """The result as tables; ``located``: its data warnings with their place in the profile file, if known."""
    from rich.markup import escape
    from rich.table import Table

    verdict = f"[{VERDICT_STYLE[result.verdict]}]{result.verdict.value.upper()}[/]"
    span = result.score_range
    # Nothing open (the range is the score): nothing to add.
    spread = f" (range {span.scores}, {span.verdicts})" if span and span.worst != span.best else ""
    out.print(
        f"[bold]{result.company.name}[/]  {verdict}  score {result.score:.1f}/100{spread}  "
        f"coverage {format_percent(result.coverage)}"
    )
    out.print(
        f"pack {result.pack.name} {result.pack.version} ({result.pack.hash[:12]}), screened on {result.screened_on}"
    )
    for note in result.notes:
        out.print(f"[yellow]note:[/] {note}")
    if result.warnings:
        out.print(
            f"[bold yellow]Data warnings[/] ({len(result.warnings)}): check these values before relying on the score"
        )
        lines = (
            [str(p) for p in located]
            if located
            else [f"{w.fields[0]}: {w.message} [{w.check}]" for w in result.warnings]
        )
        for line in lines:
            out.print(f"  [yellow]![/] {escape(line)}")

    categories = Table(title="By category", title_justify="left")
    for column, justify in (
        ("category", "left"),
        ("points", "right"),
        ("range", "right"),
        ("matched", "right"),
        ("evaluable", "right"),
    ):
        categories.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in result.categories:
        categories.add_row(
            c.category, f"{c.points:+d}", f"{c.worst:+d} … {c.best:+d}", str(c.matched), f"{c.evaluable}/{c.rules}"
        )
    print_table(out, categories, *(str(c.header) for c in categories.columns))

    fired = Table(title="Rules that matched", title_justify="left")
    fired.add_column("rule")
    fired.add_column("points", justify="right")
    fired.add_column("why")
    for r in result.by_outcome(Outcome.MATCHED):
        points = "[bold red]KNOCKOUT[/]" if r.knockout else f"{r.points:+d}"
        fired.add_row(r.id, points, r.rationale or r.title)
    print_table(out, fired, "rule", "points")
    if result.questions:
        out.print(f"[bold]Open questions[/] ({len(result.questions)}):")
        for question in result.questions:
            out.print(f"  - {question}")
