"""Commands for people who write rule packs: ``rules check``, ``rules test``, ``explain``, ``diff``.

Kept apart from :mod:`screener.cli` so that neither grows long; registered there with
``main.add_command``. Like every command, each parses its arguments, calls one core function,
prints, and maps the outcome to an exit code; heavy imports happen inside the functions.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from screener.cli.common import (
    config_options,
    format_option,
    on_option,
    reports_errors,
    rules_option,
    strict_option,
)
from screener.errors import ExitCode


@click.group("rules")
def rules_group() -> None:
    """Check and test rule packs.

    \b
    Examples:
      screen rules check rules/
      screen rules test rules/
    """


@rules_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path, exists=True))
@click.option("--update-lock", is_flag=True, help="Record each pack's version and content hash in its .lock file.")
@reports_errors
def check_command(path: Path | None, update_lock: bool) -> None:
    """Validate rule packs and analyse their conditions (PATH: a pack file or a folder; default: the packaged pack).

    Reports everything loading the pack reports, plus conditions that can never hold (error),
    alternatives that can never hold and conditions that always hold (warnings), and a pack
    whose content changed since its version was locked in <pack>.lock (warning). Exits 4 when
    any error is found; warnings alone exit 0.

    \b
    Examples:
      screen rules check rules/
      screen rules check rules/small-team-open-model.yaml --update-lock
    """
    from screener.rules.identity import update_lock as write_lock
    from screener.rules.lint import check_pack, find_packs

    packs = find_packs(path)
    errors = warnings = 0
    for pack in packs:
        for problem in check_pack(pack):
            if problem.level == "error":
                errors += 1
            else:
                warnings += 1
            click.echo(f"{problem.level}: {problem}")
    click.echo(f"{len(packs)} pack(s) checked: {errors} error(s), {warnings} warning(s)")
    if errors:
        sys.exit(int(ExitCode.RULE_ERROR))
    if update_lock:
        for pack in packs:
            click.echo(f"locked {pack.name} in {write_lock(pack)}")


@rules_group.command("test")
@click.argument("path", required=False, type=click.Path(path_type=Path, exists=True))
@reports_errors
def test_command(path: Path | None) -> None:
    """Run the rule tests beside each pack (<pack>.tests.yaml) through the real engine.

    Prints PASS or FAIL per test with what differed, then the rule coverage: the rules no test
    expects to fire or not to fire. Exits 4 when a test fails.

    \b
    Examples:
      screen rules test rules/
      screen rules test rules/small-team-open-model.yaml
    """
    from screener.analysis.ruletests import run_pack_tests, tests_path
    from screener.cli.analysis_report import print_rule_tests
    from screener.errors import Location, RuleError
    from screener.rules.lint import find_packs

    packs = [p for p in find_packs(path) if tests_path(p).exists()]
    if not packs:
        raise RuleError("no rule tests (<pack>.tests.yaml) beside the pack(s)", Location(str(path or "rules")))
    failed = 0
    for pack in packs:
        report = run_pack_tests(pack)
        print_rule_tests(report)
        failed += len(report.failed)
    if failed:
        sys.exit(int(ExitCode.RULE_ERROR))


@click.command("explain")
@click.argument("profile", type=click.Path(path_type=Path))
@click.option("--rule", "rule_id", metavar="ID", help="Explain only this rule.")
@rules_option
@on_option
@config_options
@format_option("table", "json")
@reports_errors
def explain_command(
    profile: Path,
    rule_id: str | None,
    rules: Path | None,
    on: dt.date | None,
    fx: tuple[str, ...],
    config: Path | None,
    output_format: str,
) -> None:
    """Show, rule by rule, what the engine decided for a profile and which comparisons held.

    For every comparison: the value read from the profile, the test, and whether it held.

    \b
    Examples:
      screen explain fixtures/tinyllama-legal.yaml
      screen explain fixtures/tinyllama-legal.yaml --rule team-lean --on 2026-11-27 --format json
    """
    from screener.analysis.explain import explain_file
    from screener.cli.analysis_report import print_explanation
    from screener.config import load_settings

    settings = load_settings(config, fx)
    explanation = explain_file(profile, rules, on or dt.date.today(), settings.fx, rule_id)
    if output_format == "json":
        click.echo(explanation.to_json())
    else:
        print_explanation(explanation)


@click.command("diff")
@click.argument("old_pack", type=click.Path(path_type=Path, exists=True))
@click.argument("new_pack", type=click.Path(path_type=Path, exists=True))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1), help="How many score moves to list.")
@on_option
@config_options
@format_option("table", "json")
@reports_errors
def diff_command(
    old_pack: Path,
    new_pack: Path,
    inputs: tuple[Path, ...],
    top: int,
    on: dt.date | None,
    fx: tuple[str, ...],
    config: Path | None,
    output_format: str,
) -> None:
    """Re-screen profiles under two rule packs: verdict changes, biggest score moves, and the rules behind them.

    \b
    Examples:
      screen diff rules/small-team-open-model.yaml examples/my-pack.yaml fixtures/*.yaml --fx EUR=1.08 --on 2026-11-27
      screen diff rules/small-team-open-model.yaml examples/my-pack.yaml fixtures/tinyllama-legal.yaml --format json
    """
    from screener.analysis.diff import diff_files
    from screener.cli.analysis_report import print_diff
    from screener.config import load_settings

    settings = load_settings(config, fx)
    result = diff_files(old_pack, new_pack, list(inputs), on or dt.date.today(), settings.fx, top)
    if output_format == "json":
        click.echo(result.to_json())
    else:
        print_diff(result)


@click.command("backtest")
@click.argument("pack", type=click.Path(path_type=Path))
@click.argument("labels", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--label-column", default="label", show_default=True, help="Column holding the outcome.")
@click.option(
    "--positive",
    "positive",
    multiple=True,
    help="A label value that counts as positive (repeatable, any case); every other value is negative unless "
    "--negative names them. Default: 1/0, yes/no, true/false, positive/negative.",
)
@click.option("--negative", "negative", multiple=True, help="A label value that counts as negative (repeatable).")
@click.option("--as-of-column", help="Column holding the date to screen each company as of (default: --on).")
@click.option("--profile-column", default="profile", show_default=True, help="Column holding the profile file.")
@click.option(
    "--map",
    "mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    help="When LABELS holds the profiles themselves (no profile column): their column mapping "
    "(default: the built-in Crunchbase-style mapping).",
)
@click.option(
    "--holdout",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    help="Hold out this share of the companies (stratified, --seed): the best cut is chosen on the rest, measured here.",
)
@click.option(
    "--folds", type=click.IntRange(min=2), help="Or K folds: each measured at the cut chosen on the others (--seed)."
)
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write one row per company (.csv or .jsonl): key, label, score, verdict, coverage, knockouts, part.",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Rejected rows, JSON Lines (default: beside --scores, else ./LABELS-NAME.rejects.jsonl; written when a "
    "row is rejected).",
)
@click.option(
    "--k", "ks", multiple=True, type=click.IntRange(min=1), help="k for precision@k (repeatable; default 5, 10, 20)."
)
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(min=0), help="Bootstrap resamples.")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap and of --holdout/--folds.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the report here: HTML with charts for .html, else Markdown.",
)
@on_option
@strict_option
@config_options
@format_option("table", "json", "markdown")
@reports_errors
def backtest_command(
    pack: Path,
    labels: Path,
    label_column: str,
    positive: tuple[str, ...],
    negative: tuple[str, ...],
    as_of_column: str | None,
    profile_column: str,
    mapping: Path | None,
    holdout: float | None,
    folds: int | None,
    scores_path: Path | None,
    rejects_path: Path | None,
    ks: tuple[int, ...],
    resamples: int,
    seed: int,
    report_path: Path | None,
    on: dt.date | None,
    strict: bool | None,
    fx: tuple[str, ...],
    config: Path | None,
    output_format: str,
) -> None:
    """Measure a pack against labelled outcomes: ROC AUC, a threshold sweep, calibration, precision@k, per-rule lift.

    LABELS is a CSV with an outcome per row and either a profile file (relative to the CSV) or the
    profile itself in mapped columns (--map). A row that cannot be used goes to the rejects file
    (--strict: the run stops). Intervals are seeded bootstrap percentiles, so the same input gives
    the same report. Exit code 0, or 7 when some rows were rejected.

    \b
    Examples:
      screen backtest rules/small-team-open-model.yaml examples/labels.csv --label-column invested --on 2026-11-27
      screen backtest rules/small-team-open-model.yaml examples/labels.csv --label-column invested --as-of-column decided_on --report backtest.md
      screen backtest generic-seed examples/startups.csv --map examples/startups-map.yaml --label-column status --positive acquired --on 2013-12-31 --holdout 0.3 --scores scores.csv --report backtest.html  # exits 7
    """
    from screener.analysis.backtest import BacktestRequest, backtest, html, markdown
    from screener.cli.analysis_report import print_backtest
    from screener.config import load_settings
    from screener.files import atomic_write_text

    settings = load_settings(config, fx)
    report = backtest(
        BacktestRequest(
            pack,
            labels,
            label_column=label_column,
            positive=positive,
            negative=negative,
            as_of_column=as_of_column,
            profile_column=profile_column,
            mapping=mapping,
            on=on,
            rates=settings.fx,
            ks=ks or (5, 10, 20),
            resamples=resamples,
            seed=seed,
            strict=settings.strict(strict),
            holdout=holdout,
            folds=folds,
            rejects=rejects_path,
            scores=scores_path,
        )
    )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report_path is not None:
        page = html(report) if report_path.suffix.lower() in {".html", ".htm"} else markdown(report)
        atomic_write_text(report_path, page)
    if output_format == "json":
        click.echo(report.to_json())
    elif output_format == "markdown":
        click.echo(markdown(report), nl=False)
    else:
        print_backtest(report)
    if report.rejected:
        sys.exit(int(ExitCode.REJECTS))
