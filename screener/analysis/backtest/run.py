"""``screen backtest``: how well a pack's screen would have picked the companies later labelled good.

Input is a CSV with one row per labelled company: a label (``--positive``/``--negative`` name
the values, default 1/0, yes/no, true/false), optionally the date to screen it as of (the date
the decision was made), and the company: a profile file (relative to the CSV) or the profile's
own columns, mapped like a batch CSV. Every usable row is screened through the real engine; a
row that cannot be used goes to the rejects file with every problem (``strict``: the run stops
and nothing is written). The metrics are pure functions of (score, verdict, label, rule
outcomes): see :mod:`~screener.analysis.backtest.metrics` and, for the held-out estimate,
:mod:`~screener.analysis.backtest.heldout`. ``--scores`` writes one row per company.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from screener.analysis.backtest import heldout, metrics
from screener.analysis.backtest.labels import BadRow, LabelledRow, Labels, Vocabulary, read_labels
from screener.analysis.backtest.models import BacktestReport, Case
from screener.errors import EngineError, Location, Problem, ProfileError, ScreenerError
from screener.profile import plausibility
from screener.profile.checks import CHECKS
from screener.profile.model import Profile, load_profile
from screener.rules.rulebook import Rulebook
from screener.screening.ranking import rank_key
from screener.screening.result import ScreeningResult


@dataclass
class BacktestRequest:
    pack: Path | None
    labels: Path
    label_column: str = "label"
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    as_of_column: str | None = None
    profile_column: str = "profile"
    mapping: Path | None = None
    on: dt.date | None = None
    rates: Mapping[str, float] = field(default_factory=dict)
    ks: Sequence[int] = (5, 10, 20)
    resamples: int = 1000
    seed: int = 0
    strict: bool = False  #: a bad row (or a data warning) stops the run instead of being rejected
    holdout: float | None = None
    folds: int | None = None
    rejects: Path | None = None  #: None: see :func:`rejects_path` (written when a row is rejected)
    scores: Path | None = None  #: one row per company (.csv or .jsonl)


def backtest(request: BacktestRequest) -> BacktestReport:
    """Screen every labelled company with the pack and measure the screen against the labels."""
    from screener.files import atomic_writer
    from screener.jobs.batch.rejects import write_reject
    from screener.jobs.mapping import lacks_warning, unfilled
    from screener.rules.rulebook import load_rulebook
    from screener.screening.screener import Screener

    if request.holdout is not None and request.folds is not None:
        raise ProfileError("give --holdout or --folds, not both", Location("--holdout"))
    rulebook = load_rulebook(request.pack)
    vocabulary = Vocabulary(request.label_column, request.positive, request.negative)
    labels = read_labels(
        request.labels, vocabulary, request.as_of_column, request.profile_column, request.mapping, request.rates,
        rulebook.schema, request.strict,
    )  # fmt: skip
    warnings = list(labels.warnings)
    if labels.mapping is not None:
        missing = unfilled(labels.mapping, rulebook)
        if missing:
            warnings.append(lacks_warning(labels.mapping, rulebook, missing))
    screened: list[tuple[LabelledRow, Profile, ScreeningResult]] = []
    bad = list(labels.bad)
    with Screener(rulebook) as screener:
        for row in labels.rows:
            outcome = _screen(screener, row, request, rulebook)
            if isinstance(outcome, BadRow):
                bad.append(outcome)
            else:
                screened.append((row, *outcome))
    if request.strict and bad:
        ordered = sorted(bad, key=lambda b: b.line)
        implausible = [p for b in ordered if b.implausible for p in b.problems]
        problems = [p for b in ordered if not b.implausible for p in b.problems]
        raise ProfileError(problems + (plausibility.as_errors(implausible) if implausible else []))
    bad.sort(key=lambda b: b.line)
    rejects = rejects_path(request)
    if bad or request.rejects is not None or rejects.exists():  # never leave a stale rejects file
        with atomic_writer(rejects) as handle:
            for b in bad:
                errors = [{"location": str(p.location), "field": p.subject or None, "message": p.message}
                          for p in b.problems]  # fmt: skip
                write_reject(handle, str(request.labels), b.line, b.record, errors)
    cases = [_case(row, result) for row, _, result in screened]
    if not cases:
        where = f"; every problem is in {rejects}" if bad else ""
        raise ProfileError(f"no row of the labels file could be used ({len(bad)} rejected){where}",
                           Location(str(request.labels)))  # fmt: skip
    warnings += _left_out(request.labels, labels)
    if len({c.label for c in cases}) == 1:
        only = "positive" if cases[0].label else "negative"
        warnings.append(
            Problem(
                f"every company is labelled {only}, so nothing can be told apart: check --label-column, "
                "--positive and --negative",
                Location(str(request.labels)),
                level="warning",
            )
        )
    report = measure(rulebook, cases, request, labels)
    rule_warnings = [r.warning for r in report.rules if r.warning]
    warned = [r for _, _, r in screened if r.warnings]
    counts = Counter(check for r in warned for check in dict.fromkeys(w.check for w in r.warnings))
    report = report.model_copy(
        update={
            "rejected": len(bad),
            "rejects": str(rejects) if bad or request.rejects is not None or rejects.exists() else None,
            "warnings": [p.message if p.location is None else str(p) for p in warnings] + rule_warnings,
            "warned": len(warned),
            "data_warnings": {c: counts[c] for c in CHECKS if c in counts},
        }
    )
    if request.scores is not None:
        write_scores(request.scores, cases, report)
    return report


def rejects_path(request: BacktestRequest) -> Path:
    """``--rejects``; else beside ``--scores``; else ``<labels name>.rejects.jsonl`` in the current folder."""
    if request.rejects is not None:
        return request.rejects
    if request.scores is not None:
        return request.scores.with_name(f"{request.scores.stem}.rejects.jsonl")
    return Path(f"{request.labels.stem}.rejects.jsonl")


def backtest_file(pack: Path | None, labels: Path, **options: Any) -> BacktestReport:
    """:func:`backtest` with the request's fields as keywords."""
    return backtest(BacktestRequest(pack, labels, **options))


def _screen(
    screener: Any, row: LabelledRow, request: BacktestRequest, rulebook: Rulebook
) -> BadRow | tuple[Profile, ScreeningResult]:
    where = Location(str(request.labels), row.line)
    profile = row.profile
    if isinstance(profile, Path):
        try:
            profile = load_profile(profile, request.rates, rulebook.schema.profile_model)
        except ScreenerError as exc:
            return BadRow(row.line, row.record, list(exc.problems))
    on = row.on or request.on or dt.date.today()
    try:
        result = screener.screen(profile, on, explain=False)
    except EngineError as exc:  # a value too large for the engine: this row only
        return BadRow(row.line, row.record, [Problem(p.message, where, p.subject) for p in exc.problems])
    if request.strict and result.warnings:
        problems = [
            Problem(f"{result.company.name}: {w.message} [{w.check}]", where, w.fields[0]) for w in result.warnings
        ]
        return BadRow(row.line, row.record, problems, implausible=True)
    return profile, result


def _case(row: LabelledRow, result: ScreeningResult) -> Case:
    span = result.score_range
    return Case(
        result.score, result.verdict, row.label, {x.id: x.outcome for x in result.rules}, result.coverage,
        bool(result.knockouts), result.company.key, result.company.name, row.line,
        tuple(f"{p.subject}: {p.message}" for p in row.notes), tuple(result.knockouts),
        span.worst if span else None, span.best if span else None,
        span is not None and not (span.worst_verdict is span.best_verdict is result.verdict),
    )  # fmt: skip


def _left_out(path: Path, labels: Labels) -> list[Problem]:
    """One warning per column whose cells were left out of profiles: how many, and the first."""
    found: dict[str, list[Problem]] = {}
    for row in labels.rows:
        for note in row.notes:
            found.setdefault(note.subject, []).append(note)
    return [
        Problem(
            f"{len(notes)} cell(s) of column {column!r} could not be read and were left out of their profiles "
            f"(first, row {notes[0].location.line if notes[0].location else '?'}: {notes[0].message}); "
            "--strict rejects such rows instead",
            Location(str(path)),
            level="warning",
        )
        for column, notes in found.items()
    ]


def measure(rulebook: Rulebook, cases: Sequence[Case], request: BacktestRequest, labels: Labels) -> BacktestReport:
    """Every figure of the report, from the screened cases: in-sample, then the held-out estimate if asked."""
    specs = [(r.id, r.points, r.knockout) for r in rulebook.rules]
    report = metrics.measure(
        rulebook.name, rulebook.version, specs, cases, request.ks, request.resamples, request.seed, labels.vocabulary
    )
    if request.holdout is not None:
        honest = heldout.holdout(cases, request.holdout, request.seed, request.resamples)
    elif request.folds is not None:
        honest = heldout.folds(cases, request.folds, request.seed, request.resamples)
    else:
        return report
    return report.model_copy(update={"heldout": honest})


SCORE_COLUMNS = (
    "rank", "key", "name", "label", "score", "verdict", "coverage", "knockouts", "part", "line", "notes",
    "score_worst", "score_best", "verdict_could_change",
)  # fmt: skip


def write_scores(path: Path, cases: Sequence[Case], report: BacktestReport) -> None:
    """One row per company, in ranking order: what the report's figures are made of."""
    import csv
    import json

    from screener.files import atomic_writer

    parts = _parts(cases, report)
    order = sorted(range(len(cases)), key=lambda i: (*_rank(cases[i]), cases[i].name, cases[i].line))
    rows = [
        (rank, c.key, c.name, int(c.label), c.score, c.verdict.value, c.coverage, list(c.knockouts), parts[i], c.line,
         list(c.notes), c.worst, c.best, c.could_change)
        for rank, (i, c) in enumerate(((i, cases[i]) for i in order), start=1)
    ]  # fmt: skip
    with atomic_writer(path, newline="") as handle:
        if path.suffix.lower() == ".jsonl":
            for row in rows:
                handle.write(json.dumps(dict(zip(SCORE_COLUMNS, row, strict=True)), ensure_ascii=False) + "\n")
            return
        writer = csv.writer(handle)
        writer.writerow(SCORE_COLUMNS)
        for row in rows:
            writer.writerow([*row[:7], "; ".join(row[7]), row[8], row[9], "; ".join(row[10]), *row[11:]])


def _rank(case: Case) -> tuple[int, bool, float, float]:
    return rank_key(case.verdict.value, case.knocked_out, case.score, case.coverage)


def _parts(cases: Sequence[Case], report: BacktestReport) -> list[str]:
    """Which part of the held-out estimate each company was measured in ("" without one)."""
    if report.heldout is None:
        return [""] * len(cases)
    honest = report.heldout
    if honest.method == "holdout":
        held = heldout.held_out(cases, honest.fraction or 0.0, honest.seed)
        return ["held-out" if i in held else "chosen-on" for i in range(len(cases))]
    folded = heldout.fold_of(cases, honest.folds or 2, honest.seed)
    return [f"fold {folded[i] + 1}" for i in range(len(cases))]
