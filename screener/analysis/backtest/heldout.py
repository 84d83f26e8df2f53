"""An honest estimate: the score cut chosen on one part of the companies, measured on another.

The pack itself is not fitted to the labels, so its ROC AUC, its rules' lifts and the verdict
cut-offs are what they are. What *is* chosen from the labels is the best score cut of the sweep;
measured on the very companies it was chosen on, it flatters. ``--holdout FRACTION`` chooses it
on the rest and measures it on a held-out share; ``--folds K`` does so K times, each fold
measured at the cut chosen on the other folds, and pools the results. Both splits are stratified
by label and seeded: the same input and seed give the same parts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from screener.analysis.backtest.bootstrap import Bootstrap
from screener.analysis.backtest.metrics import best_cut_of, confusion_of
from screener.analysis.backtest.models import Case, HeldOut
from screener.errors import InputError, Location


def _shuffled(cases: Sequence[Case], seed: int) -> tuple[list[int], list[int]]:
    """Indexes of the positive and of the negative cases, each in a seeded order."""
    rng = random.Random(seed)  # noqa: S311 (a split, not cryptography; seeded on purpose)
    groups: tuple[list[int], list[int]] = ([], [])
    for index in sorted(range(len(cases)), key=lambda i: (cases[i].key, cases[i].line)):
        groups[0 if cases[index].label else 1].append(index)
    for group in groups:
        rng.shuffle(group)
    return groups


def held_out(cases: Sequence[Case], fraction: float, seed: int) -> set[int]:
    """The indexes of the held-out cases: ``fraction`` of each label, in a seeded order."""
    held: set[int] = set()
    for group in _shuffled(cases, seed):
        held.update(group[: round(len(group) * fraction)])
    return held


def fold_of(cases: Sequence[Case], k: int, seed: int) -> dict[int, int]:
    """The fold (0-based) of each case: each label dealt round the folds in a seeded order."""
    found: dict[int, int] = {}
    for group in _shuffled(cases, seed):
        for position, index in enumerate(group):
            found[index] = position % k
    return found


def holdout(cases: Sequence[Case], fraction: float, seed: int, resamples: int) -> HeldOut:
    if not 0 < fraction < 1:
        raise InputError(f"--holdout must be between 0 and 1 (a share of the companies), not {fraction}",
                         Location("--holdout"))  # fmt: skip
    chosen = held_out(cases, fraction, seed)
    train = [c for i, c in enumerate(cases) if i not in chosen]
    test = [cases[i] for i in sorted(chosen)]
    _enough(train, "the part the cut is chosen on", "--holdout")
    _enough(test, "the held-out part", "--holdout")
    cut = best_cut_of(train)
    assert cut is not None  # both labels are there
    picked = [i for i, c in enumerate(test) if not c.knocked_out and c.score >= cut]
    boot = Bootstrap(test, resamples, seed)
    return HeldOut(
        method="holdout", fraction=fraction, seed=seed, chosen_on=len(train), measured_on=len(test), cuts=[cut],
        auc=boot.interval(boot.auc), **_measured(test, picked, resamples, seed),
    )  # fmt: skip


def folds(cases: Sequence[Case], k: int, seed: int, resamples: int) -> HeldOut:
    positives, negatives = _shuffled(cases, seed)
    if k < 2 or k > min(len(positives), len(negatives)):
        raise InputError(
            f"--folds must be between 2 and the number of companies of the rarer label ({min(len(positives), len(negatives))}), "
            f"not {k}",
            Location("--folds"),
        )
    folded = fold_of(cases, k, seed)
    cuts = []
    picked: list[int] = []
    for fold in range(k):
        rest = [c for i, c in enumerate(cases) if folded[i] != fold]
        cut = best_cut_of(rest)
        assert cut is not None
        cuts.append(cut)
        picked += [i for i, c in enumerate(cases) if folded[i] == fold and not c.knocked_out and c.score >= cut]
    return HeldOut(
        method="folds", folds=k, seed=seed, chosen_on=len(cases) - len(cases) // k, measured_on=len(cases),
        cuts=cuts, **_measured(cases, sorted(picked), resamples, seed),
    )  # fmt: skip


def _enough(cases: Sequence[Case], what: str, option: str) -> None:
    labels = {c.label for c in cases}
    if labels != {True, False}:
        raise InputError(
            f"{what} has no {'positive' if True not in labels else 'negative'} company; hold out a larger share "
            "or label more companies",
            Location(option),
        )


def _measured(cases: Sequence[Case], picked: Sequence[int], resamples: int, seed: int) -> dict[str, Any]:
    """Precision, recall, F0.5 and lift of fixed picks among ``cases``, with intervals over resamples of them."""
    boot = Bootstrap(cases, resamples, seed)
    chosen = boot.picked(picked)
    return {
        "confusion": confusion_of(cases, picked),
        "precision": boot.interval(chosen.precision),
        "recall": boot.interval(chosen.recall),
        "f05": boot.interval(chosen.f05),
        "lift": boot.interval(chosen.lift),
    }
