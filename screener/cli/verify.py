"""The ``screen verify`` command: re-derive stored screenings from the database alone and report any that differ."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from screener.cli.common import config_option, db_option, format_option, reports_errors
from screener.errors import ExitCode


@click.command("verify")
@click.argument("company", required=False)
@db_option
@config_option
@format_option("text", "json")
@reports_errors
def verify_command(company: str | None, db: str | None, config: Path | None, output_format: str) -> None:
    """Compute every stored screening (or COMPANY's) again from the database alone and compare.

    Each screening is screened again from its stored profile, the stored content of its pack and
    its screening date; the result must equal the stored one. Nothing is written. Exit code 0
    when every screening that can be checked agrees, 9 when any differs, 8 when there is no
    database or no screening of COMPANY.

    \b
    Examples:
      screen fixtures/tinyllama-legal.yaml --no-memo     # a screening to verify
      screen verify
      screen verify "Tinyllama Legal" --format json
    """
    from screener.config import load_settings
    from screener.jobs.verify import verify

    report = verify(db or load_settings(config).defaults.database, company)
    if output_format == "json":
        import json

        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(
            f"{report.checked} screening(s) computed again: {report.agreed} agree, {len(report.differ)} differ"
            + (f", {len(report.unverifiable)} cannot be checked" if report.unverifiable else "")
            + f" ({report.database})"
        )
        for finding in report.differ:
            click.echo(f"differs: {finding.describe()}")
        for finding in report.unverifiable:
            click.echo(f"cannot check: {finding.describe()}")
    if report.differ:
        sys.exit(int(ExitCode.MISMATCH))
