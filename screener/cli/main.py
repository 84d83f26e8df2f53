"""The ``screen`` group, its default ``score`` command, and the entry point.

Only click and the error tree are imported at start-up so that ``screen --help`` answers at
once; each command imports what it needs. Commands of other areas live beside this module
(:mod:`~screener.cli.batch`, :mod:`~screener.cli.memo`, :mod:`~screener.cli.rules`) and are
registered here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from screener.cli.batch import batch_command, history_command, list_command
from screener.cli.common import (
    config_options,
    configured_templates,
    db_option,
    format_option,
    on_option,
    reports_errors,
    rules_option,
    strict_option,
    templates_option,
)
from screener.cli.group import ScreenGroup, print_version
from screener.cli.memo import memo_command, templates_group
from screener.cli.rules import backtest_command, diff_command, explain_command, rules_group
from screener.cli.verify import verify_command


@click.group(
    "screen", cls=ScreenGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option(
    "--version",
    "-V",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=print_version,
    help="Show the version, the default rule pack and the engine, and exit.",
)
def main() -> None:
    """Screen startups against an investment thesis written as rules.

    \b
    Examples:
      screen fixtures/tinyllama-legal.yaml              # screen one company (same as 'screen score ...')
      screen fixtures/*.yaml --fx EUR=1.08 --format json --no-memo   # several, as JSON
      screen history "Tinyllama Legal"                  # past screenings of a company
      screen memo fixtures/tinyllama-legal.yaml --format html   # an HTML memo draft
    """


@main.command("score")
@click.argument("profiles", nargs=-1, required=True, type=click.Path(path_type=Path))
@rules_option
@templates_option
@click.option(
    "--template", default="memo", show_default=True, help="Memo template: a name (memo, summary, pass-note) or file."
)
@click.option(
    "--memos", type=click.Path(path_type=Path, file_okay=False), help="Folder to write memos to (default: ./memos)."
)
@click.option("--no-memo", is_flag=True, help="Do not write memos.")
@click.option("--force", is_flag=True, help="Replace memos edited since they were generated.")
@db_option
@click.option("--no-db", is_flag=True, help="Do not record the screening in the database.")
@on_option
@strict_option
@config_options
@format_option("table", "json")
@reports_errors
def score_command(
    profiles: tuple[Path, ...],
    rules: Path | None,
    templates: Path | None,
    template: str,
    memos: Path | None,
    no_memo: bool,
    force: bool,
    db: str | None,
    no_db: bool,
    on: dt.date | None,
    strict: bool | None,
    fx: tuple[str, ...],
    config: Path | None,
    output_format: str,
) -> None:
    """Screen company profiles (YAML or JSON): verdict, score, reasons, memo, database row.

    Every profile is validated first; if any is invalid, every problem is printed and nothing
    is written (exit code 3). Implausible values (a total raised of $30, a team of 0) are data
    warnings, shown with the result and kept in it; with --strict they are errors. JSON output
    is one object for one profile, a list for several.

    \b
    Examples:
      screen fixtures/tinyllama-legal.yaml
      screen score fixtures/tinyllama-legal.yaml --on 2026-06-30 --format json --no-db
      screen fixtures/eur-*.yaml --fx EUR=1.08 --memos out/memos --db sqlite:///deals.db
    """
    from screener.cli import report
    from screener.config import load_settings
    from screener.jobs.screen import ScreenRequest, screen_files

    settings = load_settings(config, fx)
    request = ScreenRequest(
        profiles=list(profiles),
        rules=rules,
        on=on or dt.date.today(),
        rates=settings.fx,
        templates=templates or configured_templates(settings),
        template=template,
        memos=None if no_memo else (memos or Path(settings.defaults.memos or "memos")),
        database=None if no_db else (db or settings.defaults.database or ""),
        force=force,
        strict=settings.strict(strict),
    )
    outcome = screen_files(request)
    for warning in outcome.pack_warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        report.echo_warnings(w for warnings in outcome.warnings for w in warnings)
        report.print_json(outcome.results)
    else:
        report.print_screenings(outcome)


main.add_command(batch_command)
main.add_command(history_command)
main.add_command(list_command)
main.add_command(verify_command)
main.add_command(rules_group)
main.add_command(explain_command)
main.add_command(diff_command)
main.add_command(backtest_command)
main.add_command(memo_command)
main.add_command(templates_group)


def run() -> None:
    """Entry point of the ``screen`` command."""
    main()
