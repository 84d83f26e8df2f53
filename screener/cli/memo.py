"""Commands for memo drafts: ``screen memo`` and ``screen templates list``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from screener.cli.common import (
    config_option,
    config_options,
    configured_templates,
    db_option,
    on_option,
    reports_errors,
    rules_option,
    strict_option,
    templates_option,
)


@click.command("memo")
@click.argument("profiles", nargs=-1, type=click.Path(path_type=Path))
@click.option("--from-db", "company", metavar="COMPANY", help="Re-render the stored screening of COMPANY (name, website or key) without re-scoring.")  # fmt: skip
@click.option(
    "--pack",
    metavar="PACK",
    help="With --from-db: the screening under this rule pack: NAME, NAME@VERSION or a content hash prefix "
    "(default: the newest).",
)
@click.option(
    "--template", default="memo", show_default=True, help="Template name (see 'screen templates list') or file name."
)
@click.option(
    "--format", "memo_format", type=click.Choice(["md", "html"]), help="Memo format (default: md, or the file's own)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write memos to (default: ./memos); - prints the memo on standard output instead.",
)
@click.option("--force", is_flag=True, help="Replace memos edited since they were generated.")
@templates_option
@rules_option
@db_option
@click.option("--no-db", is_flag=True, help="Do not read comparables from the database.")
@on_option
@strict_option
@config_options
@reports_errors
def memo_command(
    profiles: tuple[Path, ...],
    company: str | None,
    pack: str | None,
    template: str,
    memo_format: str | None,
    out: Path | None,
    force: bool,
    templates: Path | None,
    rules: Path | None,
    db: str | None,
    no_db: bool,
    on: dt.date | None,
    strict: bool | None,
    fx: tuple[str, ...],
    config: Path | None,
) -> None:
    """Draft memos: screen PROFILES and render each, or re-render a stored screening.

    Templates: memo (investment committee), summary (one page), pass-note (to the founders), in
    Markdown or HTML. Comparables come from the screening database when it holds earlier
    screenings with the same pack; drafting never writes to the database. A memo edited since it
    was generated is not overwritten without --force. With --out - the memo is printed (Markdown
    memos one after another; one HTML page) and the line about each memo goes to stderr.

    \b
    Examples:
      screen memo fixtures/tinyllama-legal.yaml --format html
      screen memo fixtures/titanforge-ai.yaml --template pass-note --out notes
      screen memo --from-db "Tinyllama Legal" --template summary
      cat fixtures/tinyllama-legal.yaml | screen memo - --out - --no-db > tinyllama.md
    """
    from screener.config import load_settings
    from screener.memo import draft

    if bool(profiles) == bool(company):
        raise click.UsageError("give PROFILE files, or --from-db COMPANY (not both)")
    if pack and not company:
        raise click.UsageError("--pack goes with --from-db")
    settings = load_settings(config, fx)
    to_stdout = out == draft.STDOUT
    if to_stdout and len(profiles) > 1 and (memo_format == "html" or template.endswith(".html.j2")):
        raise click.UsageError("--out - prints one HTML page: give one profile, or write the memos to a folder")
    request = draft.DraftRequest(
        out=None if to_stdout else (out or Path(settings.defaults.memos or "memos")),
        template=template,
        output_format=memo_format,
        templates=templates or configured_templates(settings),
        rules=rules,
        on=on or dt.date.today(),
        rates=settings.fx,
        database=None if no_db else (db or settings.defaults.database or ""),
        force=force,
        strict=settings.strict(strict),
    )
    if company:
        if no_db:
            raise click.UsageError("--from-db reads the database; drop --no-db")
        drafts = [draft.from_database(request, company, pack)]
    else:
        drafts = draft.from_profiles(request, list(profiles))
    for number, made in enumerate(drafts):
        for warning in made.warnings:
            click.echo(f"warning: {warning}", err=True)
        result = made.result
        if to_stdout:
            click.echo(("\n" if number else "") + made.text, nl=not made.text.endswith("\n"))
        if made.path.name.endswith((".pass-note.md", ".pass-note.html")) and result.verdict.value != "pass":
            click.echo(
                f"note: {result.company.name} is {result.verdict.value}, not pass; check the pass note", err=True
            )
        compared = f"; {made.comparables} comparable(s)" if made.comparables is not None else ""
        where = "(standard output)" if to_stdout else str(made.path)
        line = f"{where}  {result.company.name}: {result.verdict.value}, {result.score:.1f}/100{compared}"
        click.echo(line, err=to_stdout)


@click.group("templates")
def templates_group() -> None:
    """Memo templates: the packaged ones and your own.

    \b
    Examples:
      screen templates list
    """


@templates_group.command("list")
@templates_option
@config_option
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@reports_errors
def templates_list_command(templates: Path | None, config: Path | None, output_format: str) -> None:
    """Every memo template, what it is for, and where it comes from (yours first).

    \b
    Examples:
      screen templates list
      screen templates list --templates examples/my-templates --format json
    """
    from screener.config import load_settings
    from screener.memo.render import catalogue, unusable

    folder = templates or configured_templates(load_settings(config))
    found = catalogue(folder)
    for path in unusable(folder) if folder else []:
        click.echo(f"warning: {path}: not a memo template name (NAME.md.j2 or NAME.html.j2); ignored", err=True)
    if output_format == "json":
        rows = [
            {"name": t.name, "format": t.format, "title": t.title, "source": t.source, "overrides": t.overrides,
             "path": str(t.path)}
            for t in found
        ]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    from screener.cli.report import console, print_table

    table = Table("template", "format", "what it is for", "from", box=None, pad_edge=False)
    for t in found:
        source = f"{t.source} (overrides packaged)" if t.overrides else t.source
        table.add_row(t.name, t.format, t.title, f"{source}: {t.path}")
    print_table(console(), table, "template", "format")
