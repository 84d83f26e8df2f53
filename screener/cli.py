"""The ``screen`` command line: parse arguments, call one core function, print, exit.

Only click and the error tree are imported at start-up so that ``screen --help`` answers at
once; each command imports what it needs. Every :class:`ScreenerError` is caught once, here,
and printed as ``file:line:col: message`` lines with the exit code of its class.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from screener.errors import ConfigError, ExitCode, ScreenerError

F = TypeVar("F", bound=Callable[..., Any])


class _DefaultGroup(click.Group):
    """A group whose first argument, when it is not a command, is a profile for ``score``."""

    default_command = "score"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in {"--help", "-h", "--version"}:
            args.insert(0, self.default_command)
        return super().parse_args(ctx, args)


def reports_errors(func: F) -> F:
    """Turn known errors into messages on stderr and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScreenerError as exc:
            for problem in exc.problems:
                prefix = "warning" if problem.level == "warning" else "error"
                click.echo(f"{prefix}: {problem}", err=True)
            sys.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def rules_option(func: F) -> F:
    return click.option(
        "--rules",
        "rules",
        type=click.Path(path_type=Path),
        help="Rule pack file, or a folder holding one (default: the packaged small-team-open-model pack).",
    )(func)


def db_option(func: F) -> F:
    return click.option(
        "--db",
        "db",
        envvar="SCREENER_DATABASE_URL",
        help="Database URL or SQLite file path (default: $SCREENER_DATABASE_URL, else screener.db in the user data folder).",
    )(func)


def on_option(func: F) -> F:
    return click.option(
        "--on",
        "on",
        callback=_parse_date,
        metavar="DATE",
        help="Screening date (YYYY-MM-DD) that ages and freshness are measured against; default today.",
    )(func)


def config_options(func: F) -> F:
    func = click.option(
        "--fx",
        multiple=True,
        metavar="CUR=RATE",
        help="Exchange rate in USD per unit, e.g. --fx EUR=1.08 (repeatable; overrides screener.toml).",
    )(func)
    return click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Configuration file (default: ./screener.toml when present).",
    )(func)


def format_option(*choices: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option(
            "--format",
            "output_format",
            type=click.Choice(choices),
            default=choices[0],
            show_default=True,
            help="Output format.",
        )(func)

    return decorate


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="screener", prog_name="screen")
def main() -> None:
    """Screen startups against an investment thesis written as rules.

    \b
    Examples:
      screen fixtures/tinyllama-legal.yaml              # screen one company (same as 'screen score ...')
      screen fixtures/*.yaml --format json --no-memo    # several, as JSON
      screen history "Tinyllama Legal"                  # past screenings of a company
    """


@main.command("score")
@click.argument("profiles", nargs=-1, required=True, type=click.Path(path_type=Path))
@rules_option
@click.option(
    "--templates",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of memo templates that override the packaged ones.",
)
@click.option("--template", default="memo.md.j2", show_default=True, help="Memo template name.")
@click.option(
    "--memos", type=click.Path(path_type=Path, file_okay=False), help="Folder to write memos to (default: ./memos)."
)
@click.option("--no-memo", is_flag=True, help="Do not write memos.")
@db_option
@click.option("--no-db", is_flag=True, help="Do not record the screening in the database.")
@on_option
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
    db: str | None,
    no_db: bool,
    on: dt.date | None,
    fx: tuple[str, ...],
    config: Path | None,
    output_format: str,
) -> None:
    """Screen company profiles (YAML or JSON): verdict, score, reasons, memo, database row.

    Every profile is validated first; if any is invalid, every problem is printed and nothing
    is written (exit code 3). JSON output is one object for one profile, a list for several.

    \b
    Examples:
      screen fixtures/tinyllama-legal.yaml
      screen score fixtures/tinyllama-legal.yaml --on 2026-06-30 --format json --no-db
      screen fixtures/eur-*.yaml --fx EUR=1.08 --memos out/memos --db sqlite:///deals.db
    """
    from screener import report
    from screener.config import load_settings
    from screener.pipeline import ScreenRequest, screen_files

    settings = load_settings(config, fx)
    request = ScreenRequest(
        profiles=list(profiles),
        rules=rules,
        on=on or dt.date.today(),
        rates=settings.fx,
        templates=templates,
        template=template,
        memos=None if no_memo else (memos or Path(settings.defaults.memos or "memos")),
        database=None if no_db else (db or settings.defaults.database or ""),
    )
    outcome = screen_files(request)
    if output_format == "json":
        report.print_json(outcome.results)
    else:
        report.print_screenings(outcome)


def run() -> None:
    """Entry point: refuse unsupported Pythons with a sentence, not a linker error."""
    if sys.version_info[:2] >= (3, 13):
        version = ".".join(map(str, sys.version_info[:2]))
        click.echo(
            f"error: Python {version} is not supported: the rule engine durable-rules 2.0.28 calls a C API "
            "removed in Python 3.13. Use Python 3.11 or 3.12.",
            err=True,
        )
        sys.exit(int(ConfigError.exit_code))
    main()


__all__ = ["ExitCode", "main", "run"]
