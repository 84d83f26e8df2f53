"""``screen backtest``: how well a pack's verdicts would have picked the companies later labelled good.

Input is a CSV with one row per labelled company: a profile file (relative to the CSV), a label
(1/0, yes/no, true/false, positive/negative) and optionally the date to screen it as of (the
date the decision was made, so that data age is measured then). Every row is screened through
the real engine; the metrics are pure functions of (score, verdict, label, rule outcomes).

Reported: for each verdict cut-off ("strong-fit", "review or better") the confusion matrix,
precision, recall and F0.5 (precision weighs more: a partner's time is the scarce resource),
precision@k over the score ranking, lift over the base rate, per-rule coverage / hit rate /
precision when fired, and percentile bootstrap confidence intervals with a fixed seed, so the
same input always gives the same report.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from screener.jobs.mapping import Mapping as ColumnMapping

from screener.errors import InputError, Location, Problem
from screener.profile.model import Profile
from screener.screening.result import Outcome, ScreeningResult, Verdict

TRUE_LABELS = frozenset({"1", "true", "yes", "y", "positive", "good", "invested"})
FALSE_LABELS = frozenset({"0", "false", "no", "n", "negative", "bad", "passed"})
#: Cut-offs: the verdicts counted as "the screen says yes".
CUTOFFS: dict[str, frozenset[Verdict]] = {
    "strong-fit": frozenset({Verdict.STRONG_FIT}),
    "review-or-better": frozenset({Verdict.STRONG_FIT, Verdict.REVIEW}),
}


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class LabelledRow:
    profile: Path | Profile  #: a profile file, or the profile mapped from the row itself
    label: bool
    on: dt.date | None
    line: int


@dataclass(frozen=True)
class Case:
    """One screened, labelled company: what the metrics are computed from."""

    score: float
    verdict: Verdict
    label: bool
    outcomes: Mapping[str, Outcome]


class Interval(_Out):
    value: float | None
    low: float | None = Field(None, description="2.5th percentile of the bootstrap")
    high: float | None = Field(None, description="97.5th percentile of the bootstrap")


class Confusion(_Out):
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int


class VerdictRow(_Out):
    """How many labelled-positive and -negative companies got this verdict."""

    verdict: Verdict
    positive: int
    negative: int


class CutoffMetrics(_Out):
    cutoff: str
    confusion: Confusion
    precision: Interval
    recall: Interval
    f05: Interval
    lift: float | None = Field(description="precision divided by the base rate")


class PrecisionAtK(_Out):
    k: int
    precision: Interval
    lift: float | None


class RuleMetrics(_Out):
    id: str
    coverage: float = Field(description="share of companies for which the rule could be evaluated")
    hit_rate: float | None = Field(description="share of evaluable companies it matched")
    fired: int
    precision_when_fired: float | None = Field(
        description="share of labelled-positive companies among those it matched"
    )


class ScoreBin(_Out):
    """How many labelled-positive and -negative companies scored in [low, high) (the last bin includes 100)."""

    low: int
    high: int
    positive: int
    negative: int


class BacktestReport(_Out):
    pack: str
    version: str
    companies: int
    positives: int
    base_rate: float
    by_verdict: list[VerdictRow] = Field(description="the verdict × label confusion table")
    cutoffs: list[CutoffMetrics]
    precision_at_k: list[PrecisionAtK]
    rules: list[RuleMetrics]
    score_bins: list[ScoreBin] = Field(description="score distribution of positives and negatives, in tens")
    resamples: int
    seed: int

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


# --- reading ------------------------------------------------------------------------------------


def read_labels(
    path: Path,
    label_column: str = "label",
    as_of_column: str | None = None,
    profile_column: str = "profile",
    mapping: Path | None = None,
    rates: Mapping[str, float] | None = None,
) -> list[LabelledRow]:
    """Read the labels CSV, reporting every bad cell as ``file:line:col: column: message``.

    Each row names a profile file in ``profile_column``; a file without that column holds the
    profiles themselves, mapped onto profile fields like a batch CSV (``mapping``, default the
    built-in Crunchbase-style mapping).
    """
    from screener.profile.sources import read_text

    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise InputError("the labels file is empty; expected a header row", Location(str(path), 1, 1))
    names = [h.strip() for h in header]
    problems: list[Problem] = []
    columns = _mapped_columns(mapping) if profile_column not in names else None
    wanted = [c for c in (None if columns else profile_column, label_column, as_of_column) if c]
    for column in wanted:
        if column not in names:
            problems.append(Problem(f"no column {column!r} (columns: {', '.join(names)})", Location(str(path), 1, 1)))
    if problems:
        raise InputError(problems)
    index = {c: names.index(c) for c in wanted}
    rows = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue

        def cell(column: str, cells: list[str] = cells) -> str:
            position = index[column]
            return cells[position].strip() if position < len(cells) else ""

        def fail(column: str, message: str, line: int = line) -> None:
            problems.append(Problem(message, Location(str(path), line, index[column] + 1), column))

        raw_label = cell(label_column).lower()
        label = raw_label in TRUE_LABELS
        if not label and raw_label not in FALSE_LABELS:
            fail(label_column, f"{raw_label!r} is not a label; use 1/0, yes/no, true/false or positive/negative")
        on = None
        if as_of_column:
            try:
                on = dt.date.fromisoformat(cell(as_of_column))
            except ValueError:
                fail(as_of_column, f"{cell(as_of_column)!r} is not a date in YYYY-MM-DD form")
        if columns is not None:
            profile = _mapped_profile(path, line, dict(zip(names, cells, strict=False)), columns, rates, problems)
            if profile is not None:
                rows.append(LabelledRow(profile, label, on, line))
            continue
        if not cell(profile_column):
            fail(profile_column, "no profile file given")
        rows.append(LabelledRow(path.parent / cell(profile_column), label, on, line))
    if problems:
        raise InputError(problems)
    if not rows:
        raise InputError("the labels file has no rows", Location(str(path), 2))
    return rows


def backtest_file(
    pack: Path | None,
    labels: Path,
    *,
    label_column: str = "label",
    as_of_column: str | None = None,
    profile_column: str = "profile",
    mapping: Path | None = None,
    on: dt.date | None = None,
    rates: Mapping[str, float] | None = None,
    ks: Sequence[int] = (5, 10, 20),
    resamples: int = 1000,
    seed: int = 0,
) -> BacktestReport:
    """Screen every labelled profile with the pack and measure the screen against the labels."""
    from screener.jobs.screen import load_profiles
    from screener.rules.rulebook import load_rulebook
    from screener.screening.screener import Screener

    rulebook = load_rulebook(pack)
    rows = read_labels(labels, label_column, as_of_column, profile_column, mapping, rates)
    # Profile files are loaded together, so that every invalid one is reported at once.
    loaded = iter(load_profiles([row.profile for row in rows if isinstance(row.profile, Path)], rates or {}))
    profiles = [row.profile if isinstance(row.profile, Profile) else next(loaded) for row in rows]
    results: list[ScreeningResult] = []
    with Screener(rulebook) as screener:
        for row, profile in zip(rows, profiles, strict=True):
            results.append(screener.screen(profile, row.on or on or dt.date.today(), explain=False))
    cases = [
        Case(r.score, r.verdict, row.label, {x.id: x.outcome for x in r.rules})
        for r, row in zip(results, rows, strict=True)
    ]
    return measure(rulebook.name, rulebook.version, [r.id for r in rulebook.rules], cases, ks, resamples, seed)


def _mapped_columns(mapping: Path | None) -> ColumnMapping:
    from screener.jobs.mapping import load_mapping

    return load_mapping(mapping)


def _mapped_profile(
    path: Path,
    line: int,
    row: dict[str, str],
    mapping: ColumnMapping,
    rates: Mapping[str, float] | None,
    problems: list[Problem],
) -> Profile | None:
    from screener.jobs.inputs import RawRecord, validate

    record = validate(RawRecord(line, str(path), line, "csv", row), rates, mapping)
    problems.extend(record.problems)
    return record.profile


# --- metrics ------------------------------------------------------------------------------------


def measure(
    pack: str,
    version: str,
    rule_ids: Sequence[str],
    cases: Sequence[Case],
    ks: Sequence[int] = (5, 10, 20),
    resamples: int = 1000,
    seed: int = 0,
) -> BacktestReport:
    """Every metric of the report, with seeded bootstrap intervals. Pure."""
    positives = sum(c.label for c in cases)
    base = positives / len(cases) if cases else 0.0
    rng = random.Random(seed)  # noqa: S311 (resampling, not cryptography; seeded on purpose)
    samples = [[cases[rng.randrange(len(cases))] for _ in cases] for _ in range(resamples)] if cases else []

    def interval(statistic: Callable[[Sequence[Case]], float | None]) -> Interval:
        value = statistic(cases)
        values = sorted(v for v in (statistic(s) for s in samples) if v is not None)
        if value is None or not values:
            return Interval(value=_round(value))
        return Interval(
            value=_round(value), low=_round(_percentile(values, 2.5)), high=_round(_percentile(values, 97.5))
        )

    cutoffs = []
    for name, accepted in CUTOFFS.items():
        confusion = _confusion(cases, accepted)
        precision = interval(_on_confusion(accepted, _precision))
        cutoffs.append(
            CutoffMetrics(
                cutoff=name,
                confusion=confusion,
                precision=precision,
                recall=interval(_on_confusion(accepted, _recall)),
                f05=interval(_on_confusion(accepted, _f05)),
                lift=_lift(precision.value, base),
            )
        )
    at_k = []
    for k in ks:
        if k > len(cases):
            continue
        precision = interval(functools.partial(_precision_at_k, k=k))
        at_k.append(PrecisionAtK(k=k, precision=precision, lift=_lift(precision.value, base)))
    return BacktestReport(
        pack=pack,
        version=version,
        companies=len(cases),
        positives=positives,
        base_rate=round(base, 4),
        by_verdict=[
            VerdictRow(
                verdict=v,
                positive=sum(c.verdict is v and c.label for c in cases),
                negative=sum(c.verdict is v and not c.label for c in cases),
            )
            for v in Verdict
        ],
        cutoffs=cutoffs,
        precision_at_k=at_k,
        rules=[_rule_metrics(rule_id, cases) for rule_id in rule_ids],
        score_bins=_score_bins(cases),
        resamples=resamples,
        seed=seed,
    )


Statistic = Callable[[Sequence[Case]], float | None]


def _score_bins(cases: Sequence[Case]) -> list[ScoreBin]:
    counts = [[0, 0] for _ in range(10)]
    for case in cases:
        counts[min(int(case.score // 10), 9)][0 if case.label else 1] += 1
    return [ScoreBin(low=10 * i, high=10 * i + 10, positive=p, negative=n) for i, (p, n) in enumerate(counts)]


def _on_confusion(accepted: frozenset[Verdict], metric: Callable[[Confusion], float | None]) -> Statistic:
    def statistic(cases: Sequence[Case]) -> float | None:
        return metric(_confusion(cases, accepted))

    return statistic


def _confusion(cases: Sequence[Case], accepted: frozenset[Verdict]) -> Confusion:
    tp = fp = fn = tn = 0
    for case in cases:
        said_yes = case.verdict in accepted
        if said_yes and case.label:
            tp += 1
        elif said_yes:
            fp += 1
        elif case.label:
            fn += 1
        else:
            tn += 1
    return Confusion(true_positive=tp, false_positive=fp, false_negative=fn, true_negative=tn)


def _precision(c: Confusion) -> float | None:
    said_yes = c.true_positive + c.false_positive
    return c.true_positive / said_yes if said_yes else None


def _recall(c: Confusion) -> float | None:
    actual = c.true_positive + c.false_negative
    return c.true_positive / actual if actual else None


def _f_beta(c: Confusion, beta: float) -> float | None:
    p, r = _precision(c), _recall(c)
    if p is None or r is None or p + r == 0:
        return None if p is None or r is None else 0.0
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r)


def _f05(c: Confusion) -> float | None:
    return _f_beta(c, 0.5)


def _precision_at_k(cases: Sequence[Case], k: int) -> float | None:
    # Stable sort: ties keep input order, so the ranking is deterministic.
    ranked = sorted(range(len(cases)), key=lambda i: -cases[i].score)[:k]
    return sum(cases[i].label for i in ranked) / k if len(ranked) == k else None


def _lift(precision: float | None, base: float) -> float | None:
    return round(precision / base, 2) if precision is not None and base else None


def _rule_metrics(rule_id: str, cases: Sequence[Case]) -> RuleMetrics:
    evaluable = [c for c in cases if c.outcomes[rule_id] is not Outcome.NOT_EVALUABLE]
    fired = [c for c in evaluable if c.outcomes[rule_id] is Outcome.MATCHED]
    return RuleMetrics(
        id=rule_id,
        coverage=round(len(evaluable) / len(cases), 4) if cases else 0.0,
        hit_rate=round(len(fired) / len(evaluable), 4) if evaluable else None,
        fired=len(fired),
        precision_when_fired=round(sum(c.label for c in fired) / len(fired), 4) if fired else None,
    )


def _percentile(values: Sequence[float], percent: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted values."""
    position = (len(values) - 1) * percent / 100
    lower = int(position)
    upper = min(lower + 1, len(values) - 1)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- presentation -------------------------------------------------------------------------------


def _show(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%}" if percent else f"{value:.2f}"


def _ci(i: Interval) -> str:
    if i.value is None:
        return "n/a"
    if i.low is None or i.high is None:
        return _show(i.value)
    return f"{_show(i.value)} [{_show(i.low)}–{_show(i.high)}]"


def markdown(report: BacktestReport) -> str:
    """The report as Markdown (for a file or a pull request)."""
    lines = [
        f"# Backtest of {report.pack} {report.version}",
        "",
        f"{report.companies} companies, {report.positives} labelled positive (base rate {_show(report.base_rate)}). "
        f"Intervals: 95% percentile bootstrap, {report.resamples} resamples, seed {report.seed}.",
        "",
        "## Verdicts against labels",
        "",
        "| verdict | labelled positive | labelled negative |",
        "|---|---:|---:|",
        *(f"| {row.verdict.value} | {row.positive} | {row.negative} |" for row in report.by_verdict),
        "",
        "## Verdict cut-offs",
        "",
        "| cut-off | TP | FP | FN | TN | precision | recall | F0.5 | lift |",
        "|---|---:|---:|---:|---:|---|---|---|---:|",
    ]
    for c in report.cutoffs:
        m = c.confusion
        lift = "n/a" if c.lift is None else f"{c.lift:.2f}×"
        lines.append(
            f"| {c.cutoff} | {m.true_positive} | {m.false_positive} | {m.false_negative} | {m.true_negative} "
            f"| {_ci(c.precision)} | {_ci(c.recall)} | {_ci(c.f05)} | {lift} |"
        )
    lines += ["", "## Score distribution", "", "| score | positive | negative |", "|---|---:|---:|"]
    lines += [f"| {b.low}–{b.high} | {b.positive} | {b.negative} |" for b in report.score_bins]
    lines += ["", "## Precision at k (ranked by score)", "", "| k | precision | lift |", "|---:|---|---:|"]
    for p in report.precision_at_k:
        lift = "n/a" if p.lift is None else f"{p.lift:.2f}×"
        lines.append(f"| {p.k} | {_ci(p.precision)} | {lift} |")
    lines += [
        "",
        "## Rules",
        "",
        "| rule | coverage | hit rate | fired | precision when fired |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report.rules:
        lines.append(
            f"| {r.id} | {_show(r.coverage)} | {_show(r.hit_rate)} | {r.fired} | {_show(r.precision_when_fired)} |"
        )
    return "\n".join(lines) + "\n"


def html(report: BacktestReport) -> str:
    """The report as a self-contained HTML page, with the score distribution drawn as an SVG chart."""
    import jinja2

    from screener import texts
    from screener.resources import packaged

    env = texts.environment(jinja2.FileSystemLoader(str(packaged("templates"))), html=True)
    tallest = max((max(b.positive, b.negative) for b in report.score_bins), default=0) or 1
    return env.get_template("reports/backtest.html.j2").render(report=report, tallest=tallest, percent=_show)


def print_backtest(report: BacktestReport) -> None:
    from rich.table import Table

    from screener.cli.report import console

    out = console()
    out.print(
        f"[bold]{report.pack} {report.version}[/]: {report.companies} companies, {report.positives} positive "
        f"(base rate {_show(report.base_rate)}); 95% bootstrap intervals, {report.resamples} resamples, seed {report.seed}"
    )
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
            _ci(c.precision),
            _ci(c.recall),
            _ci(c.f05),
            "n/a" if c.lift is None else f"{c.lift:.2f}×",
        )
    out.print(cut)
    at_k = Table(title="Precision at k", title_justify="left")
    for column in ("k", "precision", "lift"):
        at_k.add_column(column)
    for p in report.precision_at_k:
        at_k.add_row(str(p.k), _ci(p.precision), "n/a" if p.lift is None else f"{p.lift:.2f}×")
    out.print(at_k)
    rules = Table(title="Rules", title_justify="left")
    for column in ("rule", "coverage", "hit rate", "fired", "precision when fired"):
        rules.add_column(column)
    for r in report.rules:
        rules.add_row(r.id, _show(r.coverage), _show(r.hit_rate), str(r.fired), _show(r.precision_when_fired))
    out.print(rules)
