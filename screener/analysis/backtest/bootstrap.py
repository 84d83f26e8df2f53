"""Seeded bootstrap resamples of the backtest's cases, and the orders statistics over them need.

A resample is kept as how many times each case was drawn, so a statistic made of counts
(precision, recall, a rule's share of positives) is a few sums over index lists, not a pass over
copies of the cases: 1,000 resamples of 900 companies take a few seconds, not a minute.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from screener.analysis.backtest.models import Case, Interval
from screener.screening.ranking import rank_key

#: A statistic of a resample, given as how many times each case was drawn (all ones: the cases themselves).
Statistic = Callable[[Sequence[int]], float | None]


class Bootstrap:
    """Seeded resamples of a set of cases, and percentile intervals of statistics over them.

    A resample is kept as the number of times each case was drawn, so that a statistic made of
    counts (precision, recall, a rule's share of positives) is a few sums, not a pass over copies.
    """

    def __init__(self, cases: Sequence[Case], resamples: int, seed: int):
        self.cases = list(cases)
        n = len(self.cases)
        self.ones = [1] * n
        rng = random.Random(seed)  # noqa: S311 (resampling, not cryptography; seeded on purpose)
        self.weights: list[list[int]] = []
        population = range(n)
        for _ in range(resamples if n else 0):
            drawn = [0] * n
            for index in rng.choices(population, k=n):
                drawn[index] += 1
            self.weights.append(drawn)
        self.positives = [i for i, c in enumerate(self.cases) if c.label]
        self._order = Order(self.cases)

    def interval(self, statistic: Statistic) -> Interval:
        value = statistic(self.ones)
        values = sorted(v for v in (statistic(w) for w in self.weights) if v is not None)
        if value is None or not values:
            return Interval(value=_round(value))
        return Interval(value=_round(value), low=_round(percentile(values, 2.5)), high=_round(percentile(values, 97.5)))

    # Statistics of a set of picked cases (by index), for :meth:`interval`.
    def picked(self, indexes: Sequence[int]) -> Picked:
        return Picked(indexes, [i for i in indexes if self.cases[i].label], self.positives)

    def auc(self, weights: Sequence[int]) -> float | None:
        return self._order.auc(weights)

    def precision_at_k(self, k: int) -> Statistic:
        return lambda weights: self._order.precision_at_k(weights, k)[0]


def total(weights: Sequence[int], indexes: Sequence[int]) -> int:
    return sum(map(weights.__getitem__, indexes))


@dataclass(frozen=True)
class Picked:
    """The cases a screen picks (by index): its precision, recall, F0.5 and lift in any resample."""

    indexes: Sequence[int]
    hits: Sequence[int]  #: the picked positives
    positives: Sequence[int]  #: every positive
    #: counts by resample (the resamples outlive this): four figures are read from each
    _seen: dict[int, tuple[int, int, int, int]] = field(default_factory=dict, compare=False, repr=False)

    def counts(self, weights: Sequence[int]) -> tuple[int, int, int, int]:
        """Picked, picked positives, positives, cases (a resample has as many cases as the sample)."""
        found = self._seen.get(id(weights))
        if found is None:
            found = self._seen[id(weights)] = (
                total(weights, self.indexes), total(weights, self.hits), total(weights, self.positives), len(weights),
            )  # fmt: skip
        return found

    def precision(self, weights: Sequence[int]) -> float | None:
        picked, hits, _, _ = self.counts(weights)
        return hits / picked if picked else None

    def recall(self, weights: Sequence[int]) -> float | None:
        _, hits, positives, _ = self.counts(weights)
        return hits / positives if positives else None

    def f05(self, weights: Sequence[int]) -> float | None:
        picked, hits, positives, _ = self.counts(weights)
        if not picked or not positives:
            return None
        p, r = hits / picked, hits / positives
        return 0.0 if p + r == 0 else 1.25 * p * r / (0.25 * p + r)

    def lift(self, weights: Sequence[int]) -> float | None:
        picked, hits, positives, n = self.counts(weights)
        return (hits / picked) / (positives / n) if picked and positives else None


class Order:
    """The cases in two orders, each as groups of tied cases: by score (knocked-out last) for the ROC,
    and as every ranked view ranks, for precision@k."""

    def __init__(self, cases: Sequence[Case]):
        self.cases = cases
        self.by_score = _groups(cases, lambda c: -c.ranked)
        self.by_rank = _groups(cases, lambda c: rank_key(c.verdict, c.knocked_out, c.score, c.coverage))

    def auc(self, weights: Sequence[int]) -> float | None:
        """ROC AUC (ties count half): the chance a positive outranks a negative, in a weighted sample."""
        below = wins = 0.0
        positives = negatives = 0
        for group_pos, group_neg in reversed(self.by_score):  # lowest score first
            p, n = total(weights, group_pos), total(weights, group_neg)
            wins += p * (below + n / 2)
            below += n
            positives += p
            negatives += n
        return wins / (positives * negatives) if positives and negatives else None

    def precision_at_k(self, weights: Sequence[int], k: int) -> tuple[float | None, int, int]:
        """Expected precision of the top ``k`` over orderings of ties; the companies tied across the k-th
        place and how many of them the top k holds (0, 0 when no tie straddles it)."""
        if k < 1 or len(weights) < k:
            return None, 0, 0
        above = hits = 0
        for group_pos, group_neg in self.by_rank:
            p, n = total(weights, group_pos), total(weights, group_neg)
            size = p + n
            if not size:
                continue
            if above + size >= k:
                slots = k - above
                expected = hits + slots * p / size
                straddles = size > slots
                return expected / k, size if straddles else 0, slots if straddles else 0
            above += size
            hits += p
        return None, 0, 0  # pragma: no cover (the weights add up to at least k)


def _groups(cases: Sequence[Case], key: Callable[[Case], Any]) -> list[tuple[list[int], list[int]]]:
    """Indexes of the cases sorted by ``key``, in groups of equal keys: (positives, negatives) per group."""
    order = sorted(range(len(cases)), key=lambda i: key(cases[i]))
    groups: list[tuple[list[int], list[int]]] = []
    last: Any = object()
    for i in order:
        current = key(cases[i])
        if current != last:
            groups.append(([], []))
            last = current
        groups[-1][0 if cases[i].label else 1].append(i)
    return groups


def percentile(values: Sequence[float], percent: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted values."""
    position = (len(values) - 1) * percent / 100
    lower = int(position)
    upper = min(lower + 1, len(values) - 1)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
