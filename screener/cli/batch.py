"""The ``screen batch``, ``screen history`` and ``screen list`` commands.

Thin, like :mod:`screener.cli`, sharing its options from :mod:`screener.cli.common`: parse, call one core function (:func:`screener.jobs.batch.run_batch`
or a :mod:`screener.store` query), print, exit. Heavy imports happen inside the commands.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from screener.cli.common import (
    config_option,
    config_options,
    configured_templates,
    db_option,
    format_option,
    on_option,
    parse_date,
    reports_errors,
    rules_option,
    strict_option,
    templates_option,
)
from screener.errors import ExitCode

_VERDICTS = ("strong-fit", "review", "pass")


@click.command("batch")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))  # '-': JSON Lines on stdin
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Ranked results, one row per company: .csv, .jsonl or .parquet (parquet: pip install 'screener[parquet]'); "
    "- prints them (JSON Lines, or --out-format csv) and the summary goes to stderr.",
)
@click.option(
    "--out-format",
    type=click.Choice(("jsonl", "csv")),
    default="jsonl",
    show_default=True,
    help="With --out -: the format printed.",
)
@click.option(
    "--rejects",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Rejected and duplicate records, JSON Lines (default: OUT's name + .rejects.jsonl, else ./rejects.jsonl).",
)
@rules_option
@click.option(
    "--map",
    "mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV column mapping file (default: the built-in Crunchbase-style mapping).",
)
@click.option(
    "--duplicates",
    type=click.Choice(("domain-else-name", "domain-or-name")),
    default="domain-else-name",
    show_default=True,
    help="When two records are one company: they share the website domain (records without a website: the "
    "normalised name), so two domains are never one company; or, with domain-or-name, they share the domain "
    "or the name, also across domains.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes (default: one per CPU this process may use; one for an input of one chunk at most).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Records per chunk and transaction.",
)
@click.option(
    "--progress-every",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="When stderr is not a terminal (cron, CI): seconds between progress lines (0: at every chunk).",
)
@click.option("--memos", type=click.Path(path_type=Path, file_okay=False), help="Write memos to this folder.")
@click.option(
    "--memo-verdict",
    type=click.Choice(_VERDICTS),
    default="strong-fit",
    show_default=True,
    help="Write memos for companies at or above this verdict.",
)
@templates_option
@click.option(
    "--template", default="memo", show_default=True, help="Memo template: a name (memo, summary, pass-note) or file."
)
@click.option(
    "--force", is_flag=True, help="Replace memos edited since they were generated (else kept, with a warning)."
)
@db_option
@click.option("--no-db", is_flag=True, help="Do not record the screenings in the database.")
@click.option(
    "--full",
    is_flag=True,
    help="Score every record, also those unchanged since their stored screening (which are skipped otherwise).",
)
@on_option
@strict_option
@config_options
@format_option("text", "json")
@reports_errors
def batch_command(
    inputs: tuple[Path, ...],
    out: Path | None,
    out_format: str,
    rejects: Path | None,
    rules: Path | None,
    mapping: Path | None,
    duplicates: str,
    workers: int | None,
    chunk_size: int,
    progress_every: float,
    memos: Path | None,
    memo_verdict: str,
    templates: Path | None,
    template: str,
    force: bool,
    db: str | None,
    no_db: bool,
    full: bool,
    on: dt.date | None,
    strict: bool | None,
    fx: tuple[str, ...],
    config: Path | None,
    output_format: str,
) -> None:
    """Screen many companies: folders of profiles, JSON Lines files, CSV exports.

    Every record is validated; a bad one is written to the rejects file with every problem and
    the batch goes on. A company appearing twice (same website domain; without a website, same
    normalised name) is kept once: the record with the most key fields filled in wins, then the latest as_of, then
    the first read. Results are upserted into the database per chunk, so re-running an
    interrupted batch completes it without duplicates (Ctrl-C stops it between records and says
    how far it got: exit code 130). A record with implausible values (a total raised of $30) is
    scored and its data warnings counted and listed in the ranked output; with --strict it is
    rejected instead. Exit code 0 when every record was scored, 7 when some were rejected.

    \b
    Examples:
      screen batch examples/deals.jsonl --out ranked.csv
      screen batch examples/profiles/ examples/crunchbase.csv --out ranked.jsonl
      screen batch examples/deals.jsonl --workers 2 --db sqlite:///deals.db --memos memos/
      cat examples/deals.jsonl | screen batch - --out - --no-db > ranked.jsonl
    """
    from screener.cli.streams import batch_streams  # it imports the batch's input reading
    from screener.config import load_settings
    from screener.jobs.batch import BatchRequest, BatchSummary, DuplicateRule, run_batch
    from screener.screening.result import Verdict

    settings = load_settings(config, fx)
    streams = batch_streams(inputs, out, out_format, rejects)  # '-': standard input, standard output
    files, out, rejects = click.get_current_context().with_resource(streams)
    request = BatchRequest(
        inputs=files,
        on=on or dt.date.today(),
        out=out,
        rejects=rejects,
        database=None if no_db else (db or settings.defaults.database or ""),
        rules=rules,
        mapping=mapping,
        duplicates=DuplicateRule(duplicates),
        rates=settings.fx,
        workers=workers,
        chunk_size=chunk_size,
        memos=memos,
        memo_verdict=Verdict(memo_verdict),
        templates=templates or configured_templates(settings),
        template=template,
        force=force,
        strict=settings.strict(strict),
        full=full,
    )
    summary = BatchSummary()
    try:
        if sys.stderr.isatty():
            _with_progress(request, summary)
        else:
            from screener.cli.progress import ProgressLines

            lines = ProgressLines(lambda text: click.echo(text, err=True), every=progress_every)
            request.progress = lines
            run_batch(request, summary)
            lines.finish()
    except BaseException as exc:
        _unfinished(exc, summary)
        raise
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        import json

        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        verdicts = ", ".join(f"{k} {v}" for k, v in summary.verdicts.items())
        click.echo(
            f"{summary.read} read: {summary.scored} scored, {summary.rejected} rejected, "
            f"{summary.duplicates} duplicates ({verdicts}) in {summary.seconds:.1f}s, {summary.rate:,.0f} profiles/s, "
            f"{summary.workers} worker{'s' if summary.workers > 1 else ''}"
        )
        if summary.skipped["unchanged"]:
            click.echo(
                f"skipped: {summary.skipped['unchanged']} unchanged since their stored screening (same record, "
                "same pack content, a screening date that cannot change the outcome): not scored again; --full "
                "scores them"
            )
        if summary.warned:
            checks = ", ".join(f"{check} {count}" for check, count in summary.data_warnings.items())
            click.echo(f"data warnings: {summary.warned} companies ({checks}); see the warnings column")
        if summary.out:
            from screener.cli.streams import shown

            click.echo(f"results: {shown(summary.out)}")
        if summary.rejected or summary.duplicates:
            click.echo(f"rejects: {summary.rejects}")
        if summary.database:
            click.echo(f"database: {summary.database}")
        if memos is not None:
            click.echo(f"memos: {summary.memos} in {memos}")
    if summary.rejected:
        sys.exit(int(ExitCode.REJECTS))


def _unfinished(exc: BaseException, summary: Any) -> None:
    """What a batch that failed or was stopped had done, and how to finish it (on stderr, before the error)."""
    from screener.errors import Stopped

    if not summary.read and not isinstance(exc, Stopped | KeyboardInterrupt):
        return  # refused before reading anything: the error says it all
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"unfinished: {summary.read} read so far: {summary.scored} scored, {summary.rejected} rejected, "
        f"{summary.duplicates} duplicates",
        err=True,
    )
    if summary.rejects is not None and summary.rejects.exists():
        click.echo(f"rejects of the records read: {summary.rejects}", err=True)
    click.echo(
        "to finish, run the same command again: the records already saved are skipped as unchanged, so nothing "
        "is scored twice or duplicated"
        if summary.database
        else "to finish, run the same command again",
        err=True,
    )


def _with_progress(request: Any, summary: Any) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from screener.jobs.batch import run_batch

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.speed or 0:,.0f} profiles/s")

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        request.progress = progress
        return run_batch(request, summary)


#: The columns of ``history`` and ``list`` (also the CSV header when nothing matched).
_COLUMNS = ("company", "key", "pack", "version", "hash", "screened_on", "score", "verdict", "coverage", "knockouts",
            "warnings", "score_worst", "score_best", "verdict_worst", "verdict_best", "updated_at")  # fmt: skip


def _rows(screenings: Any) -> list[dict[str, Any]]:
    return [
        dict(zip(_COLUMNS, (
            s.company_name, s.company_key, s.pack_name, s.pack_version, s.pack_hash, s.screened_on.isoformat(),
            s.score, s.verdict, s.coverage, "; ".join(s.knockouts), "; ".join(w["check"] for w in s.warnings),
            s.score_worst, s.score_best, s.verdict_worst, s.verdict_best, s.updated_at.isoformat(timespec="seconds"),
        ), strict=True))
        for s in screenings
    ]  # fmt: skip


def _range(row: dict[str, Any]) -> str:
    """The score range as a table shows it: ``58.0–81.5``, with ``(could change)`` when the verdicts differ."""
    if row["score_worst"] is None:
        return "unknown"
    text = f"{row['score_worst']:.1f}\u2013{row['score_best']:.1f}"
    changes = not (row["verdict_worst"] == row["verdict_best"] == row["verdict"])
    return f"{text} (could change)" if changes else text


def pack_option(func: Any) -> Any:
    return click.option(
        "--pack",
        metavar="PACK",
        help="Only screenings under this pack: NAME, NAME@VERSION (e.g. small-team-open-model@1.1.0) or a content "
        "hash prefix (at least 7 hex digits).",
    )(func)


def _print_rows(rows: list[dict[str, Any]], output_format: str, title: str) -> None:
    if output_format == "json":
        import json

        click.echo(json.dumps(rows, indent=2))
    elif output_format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        from rich.markup import escape
        from rich.table import Table

        from screener.cli.report import console, print_table
        from screener.texts import format_percent

        table = Table(title=title)
        names = ("company", "key", "pack", "version", "hash", "screened_on", "score", "range", "verdict", "coverage",
                 "knockouts", "warnings")  # fmt: skip
        for name in names:
            table.add_column(name, justify="right" if name in {"score", "range", "coverage"} else "left")
        for row in rows:
            shown = {**row, "coverage": format_percent(row["coverage"]), "hash": row["hash"][:12], "range": _range(row)}
            table.add_row(*(escape(str(shown[name])) for name in names))
        print_table(
            console(), table, "company", "key", "pack", "version", "screened_on", "score", "verdict", "coverage"
        )


@click.command("history")
@click.argument("company")
@pack_option
@db_option
@config_option
@format_option("table", "json", "csv")
@reports_errors
def history_command(company: str, pack: str | None, db: str | None, config: Path | None, output_format: str) -> None:
    """Every distinct screening of COMPANY (name, website or key), newest first.

    A screening is kept for each change of facts, of pack content, or of outcome; screening
    unchanged facts with the same pack again adds none. Each shows its pack's version and
    content hash.

    A part of a name or key will do when it names one company only. A company never screened
    is exit code 8, with the closest stored name, website or key.

    \b
    Examples:
      screen history "Tinyllama Legal"
      screen history tinyllama-legal.example --pack small-team-open-model --format json
    """
    from screener import store
    from screener.config import load_settings

    engine = store.open_existing(db or load_settings(config).defaults.database)
    try:
        found = store.company_history(engine, company, pack)
    finally:
        engine.dispose()
    name = found.rows[0].company_name
    if found.partial:
        click.echo(f"note: {company!r} matched {name} ({found.rows[0].company_key})", err=True)
    _print_rows(_rows(found.rows), output_format, f"Screenings of {name}")


@click.command("list")
@click.option("--verdict", type=click.Choice(_VERDICTS), help="Only this verdict.")
@click.option("--since", callback=parse_date, metavar="DATE", help="Only screenings on or after DATE (YYYY-MM-DD).")
@click.option("--top", type=click.IntRange(min=1), help="Only the N best ranked (one page of N, no next page).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Rows per page.")
@click.option("--after", metavar="CURSOR", help="The page after CURSOR: what the previous page printed.")
@click.option("--all", "every", is_flag=True, help="Every row, not one page (with --top N, the N best).")
@pack_option
@db_option
@config_option
@format_option("table", "json", "csv")
@reports_errors
def list_command(
    verdict: str | None,
    since: dt.date | None,
    top: int | None,
    limit: int,
    after: str | None,
    every: bool,
    pack: str | None,
    db: str | None,
    config: Path | None,
    output_format: str,
) -> None:
    """The newest screening of each company under each pack version, ranked, a page at a time.

    Ranked by verdict (strong-fit, review, pass; knocked out last), then score, then coverage.
    When more rows follow, the command for the next page is printed on stderr.

    \b
    Examples:
      screen list --top 20
      screen list --verdict strong-fit --since 2026-01-01 --pack small-team-open-model --format csv
    """
    from screener import store
    from screener.config import load_settings
    from screener.store.listing import Cursor, page

    cursor = Cursor.parse(after) if after else None
    size = top or limit
    filters: dict[str, Any] = {"verdict": verdict, "since": since, "pack": pack}
    engine = store.open_existing(db or load_settings(config).defaults.database)
    try:
        found = page(engine, **filters, after=cursor, limit=size)
        rows = found.rows
        while every and not top and found.next is not None:
            found = page(engine, **filters, after=found.next, limit=max(size, 1000))
            rows += found.rows
    finally:
        engine.dispose()
    _print_rows(_rows(rows), output_format, "Screenings")
    if found.next is not None and not top and not every:
        click.echo(f"next page: {_next_command(found.next.token())}", err=True)


def _next_command(token: str) -> str:
    """The command line of the next page: this one's options, then --after the page's cursor."""
    import shlex

    context = click.get_current_context()
    words = ["screen", "list"]
    for name, value in context.params.items():
        if (
            value is None
            or name == "after"
            or context.get_parameter_source(name) is not click.core.ParameterSource.COMMANDLINE
        ):
            continue
        option = "--format" if name == "output_format" else f"--{name.replace('_', '-')}"
        words += [option, value.isoformat() if isinstance(value, dt.date) else str(value)]
    return shlex.join([*words, "--after", token])
