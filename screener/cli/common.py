"""Options and error handling shared by every ``screen`` command.

Kept apart from :mod:`screener.cli.main` so that command modules (``batch``, ``rules``) can
use them while ``cli`` registers those commands, without an import cycle. Imports only click.

**Errors as JSON.** With ``--format json`` every outcome is JSON on standard output, errors
included (the same problems are also printed as text on stderr), with the same exit codes::

    {"error": {"exit_code": 3, "kind": "invalid-input",
               "problems": [{"level": "error", "file": "x.yaml", "line": 2, "column": 1,
                             "field": "stage", "message": "..."}]}}

``kind`` is the exit code's name (:class:`~screener.errors.ExitCode`); ``file``, ``line``,
``column`` and ``field`` are null when a problem has none.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from screener.errors import ExitCode, Problem, ScreenerError

F = TypeVar("F", bound=Callable[..., Any])


def problem_data(problem: Problem) -> dict[str, Any]:
    """One problem as the JSON error document gives it."""
    where = problem.location
    return {
        "level": problem.level,
        "file": where.file if where else None,
        "line": (where.line or None) if where else None,
        "column": (where.column or None) if where else None,
        "field": problem.subject or None,
        "message": problem.message,
    }


def error_document(exit_code: int, problems: Sequence[Problem]) -> str:
    """The JSON printed on standard output for an error when ``--format json`` was asked for."""
    import json

    kind = ExitCode(exit_code).name.lower().replace("_", "-") if exit_code in set(ExitCode) else "error"
    body = {"exit_code": exit_code, "kind": kind, "problems": [problem_data(p) for p in problems]}
    return json.dumps({"error": body}, indent=2, ensure_ascii=False)


def wants_json(args: Sequence[str]) -> bool:
    """Whether a command line asks for ``--format json`` (read before click parses it, for usage errors)."""
    return any(
        arg == "--format=json" or (arg == "--format" and index + 1 < len(args) and args[index + 1] == "json")
        for index, arg in enumerate(args)
    )


def reports_errors(func: F) -> F:
    """Turn known errors into messages on stderr (and JSON on stdout for ``--format json``) and the exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScreenerError as exc:
            for problem in exc.problems:
                prefix = "warning" if problem.level == "warning" else "error"
                click.echo(f"{prefix}: {problem}", err=True)
            if kwargs.get("output_format") == "json":
                click.echo(error_document(int(exc.exit_code), exc.problems))
            sys.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
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


def templates_option(func: F) -> F:
    return click.option(
        "--templates",
        type=click.Path(path_type=Path, file_okay=False),
        help="Folder of memo templates searched before the packaged ones (default: [defaults] templates).",
    )(func)


def configured_templates(settings: Any) -> Path | None:
    """The ``[defaults] templates`` folder of ``settings``; a missing one is a located configuration error."""
    from screener.errors import ConfigError, Problem

    folder = settings.defaults.templates
    if not folder:
        return None
    path = Path(folder).expanduser()
    if not path.is_dir():
        where = settings.where("defaults", "templates")
        raise ConfigError(Problem(f"folder not found: {path}", where, "defaults.templates"))
    return path


def on_option(func: F) -> F:
    return click.option(
        "--on",
        "on",
        callback=parse_date,
        metavar="DATE",
        help="Screening date (YYYY-MM-DD) that ages and freshness are measured against; default today.",
    )(func)


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Configuration file (default: ./screener.toml when present).",
    )(func)


def config_options(func: F) -> F:
    func = click.option(
        "--fx",
        multiple=True,
        metavar="CUR=RATE",
        help="Exchange rate in USD per unit, e.g. --fx EUR=1.08 (repeatable; overrides screener.toml).",
    )(func)
    return config_option(func)


def strict_option(func: F) -> F:
    return click.option(
        "--strict/--no-strict",
        "strict",
        default=None,
        help="Data warnings (implausible values, see the README's checks; a CSV cell that cannot be read) are "
        "errors: exit 3, nothing written (default: [checks] strict in screener.toml, else off).",
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
