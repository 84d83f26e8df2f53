"""``screen backtest``: how well a pack's verdicts would have picked the companies later labelled good.

Input is a CSV with one row per labelled company: a profile file (relative to the CSV), a label
(1/0, yes/no, true/false, positive/negative) and optionally the date to screen it as of (the
date the decision was made, so that data age is measured then). Every row is screened through
the real engine; the metrics are pure functions of (score, verdict, label, rule outcomes).

Reported: for each verdict cut-off ("strong-fit", "review or better") the confusion matrix,
precision, recall and F0.5 (precision weighs more: a partner's time is the scarce resource),
precision@k over the ranking (verdict, then score, then coverage), lift over the base rate, per-rule coverage / hit rate /
precision when fired, and percentile bootstrap confidence intervals with a fixed seed, so the
same input always gives the same report.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from screener.analysis.backtest.labels import read_labels
from screener.analysis.backtest.metrics import measure
from screener.analysis.backtest.models import BacktestReport, Case
from screener.errors import Location, Problem, ProfileError
from screener.profile import plausibility
from screener.profile.checks import CHECKS
from screener.profile.model import Profile
from screener.screening.result import ScreeningResult


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
    strict: bool = False,
) -> BacktestReport:
    """Screen every labelled profile with the pack and measure the screen against the labels.

    Data warnings are counted in the report; with ``strict`` they are errors, each at its row of the labels.
    """
    from screener.profile.loading import load_profiles
    from screener.rules.rulebook import load_rulebook
    from screener.screening.screener import Screener

    rulebook = load_rulebook(pack)
    model = rulebook.schema.profile_model
    rows = read_labels(labels, label_column, as_of_column, profile_column, mapping, rates, rulebook.schema)
    # Profile files are loaded together, so that every invalid one is reported at once.
    loaded = iter(load_profiles([row.profile for row in rows if isinstance(row.profile, Path)], rates or {}, model))
    profiles = [row.profile if isinstance(row.profile, Profile) else next(loaded) for row in rows]
    results: list[ScreeningResult] = []
    with Screener(rulebook) as screener:
        for row, profile in zip(rows, profiles, strict=True):
            results.append(screener.screen(profile, row.on or on or dt.date.today(), explain=False))
    warned = [(r, row) for r, row in zip(results, rows, strict=True) if r.warnings]
    if strict and warned:
        problems = [
            Problem(f"{r.company.name}: {w.message} [{w.check}]", Location(str(labels), row.line), w.fields[0])
            for r, row in warned
            for w in r.warnings
        ]
        raise ProfileError(plausibility.as_errors(problems))
    cases = [
        Case(r.score, r.verdict, row.label, {x.id: x.outcome for x in r.rules}, r.coverage, bool(r.knockouts))
        for r, row in zip(results, rows, strict=True)
    ]
    report = measure(rulebook.name, rulebook.version, [r.id for r in rulebook.rules], cases, ks, resamples, seed)
    counts = Counter(check for r, _ in warned for check in dict.fromkeys(w.check for w in r.warnings))
    return report.model_copy(
        update={"warned": len(warned), "data_warnings": {c: counts[c] for c in CHECKS if c in counts}}
    )
