"""The order of every ranked view: verdict first, then score, then coverage; knockouts last.

A score alone misleads: a company at 19% coverage that is ``review`` until its questions are
answered, or a knocked-out company that still earned 71.6 points, would rank above strong fits.
So ``screen list``, the batch's ranked file, ``diff`` and the backtest's precision@k all order
companies the same way:

1. by verdict: strong-fit, then review, then pass;
2. within pass, companies without a knockout before knocked-out ones;
3. by score, highest first;
4. by coverage, highest first (of two equal scores, the better-known one first).

Ties after that are each view's own (name, input position), so every ranking is deterministic.
The database's ``ORDER BY`` (``screener.store.reading``) spells the same order in SQL, and a test
holds the two to agree.
"""

from __future__ import annotations

from screener.screening.result import Verdict

#: Position of each verdict in a ranking (keys are plain strings: a Verdict is one too).
VERDICT_ORDER: dict[str, int] = {verdict.value: number for number, verdict in enumerate(Verdict)}


def rank_key(verdict: str, knocked_out: bool, score: float, coverage: float) -> tuple[int, bool, float, float]:
    """Sort key of a company in a ranking: smaller is better (see the module docstring)."""
    return (VERDICT_ORDER[verdict], knocked_out, -score, -coverage)
