"""Comparables: the companies in the screening database most like the one in the memo.

A comparable shares the company's sector or its stage and was screened under the same rule
pack (so its verdict means the same thing). Those sharing both come first; within each group the
nearest on the numeric facts both profiles give (team size, capital raised, revenue, gross
margin, founding year) come first, with a fixed penalty for each fact only one of them gives.
Ties are broken by name, so the list is the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Engine

from screener.memo.context import VERDICT_LABELS, Comparable
from screener.profile.model import Profile
from screener.profile.model import company_key as company_key_of
from screener.screening.result import ScreeningResult
from screener.texts import format_money

LIMIT = 5
_UNKNOWN_PENALTY = 1.0


def _log_gap(a: float, b: float) -> float:
    # Orders of magnitude: a 10-person and a 20-person team are closer than 10 and 1,000.
    return abs(math.log10(1 + max(a, 0)) - math.log10(1 + max(b, 0)))


#: profile path → distance between two known values, each roughly 0..1 for "similar" companies
_FACTS: dict[tuple[str, ...], Callable[[float, float], float]] = {
    ("team", "size"): _log_gap,
    ("funding", "total_raised"): _log_gap,
    ("traction", "arr"): _log_gap,
    ("traction", "gross_margin"): lambda a, b: abs(a - b) * 2,
    ("founded",): lambda a, b: abs(a - b) / 5,
}


def find(engine: Engine, profile: Profile, company_key: str, pack_name: str, limit: int = LIMIT) -> list[Comparable]:
    """The ``limit`` most similar companies screened before, best first."""
    from screener import store

    stage = profile.stage.value if profile.stage else None
    rows = store.peers(engine, pack_name=pack_name, exclude_key=company_key, sector=profile.sector, stage=stage)
    mine = profile.model_dump(mode="json")
    sector = profile.sector.lower() if profile.sector else None
    ranked: dict[str, tuple[tuple[int, float, str], Comparable]] = {}
    me = {company_key, company_key_of(profile.name, None)}
    for row in rows:
        if row.company_key in ranked:
            continue  # rows come newest first: keep each company's latest screening
        if me & {row.company_key, company_key_of(row.company_name, None)}:
            continue  # the company itself, screened before with or without its website
        same_sector = sector is not None and str(row.profile.get("sector") or "").lower() == sector
        same_stage = stage is not None and row.profile.get("stage") == stage
        order = (-(same_sector + same_stage), distance(mine, row.profile), row.company_name.lower())
        ranked[row.company_key] = (order, _comparable(row, same_sector, same_stage))
    return [c for _, c in sorted(ranked.values(), key=lambda item: item[0])[:limit]]


def for_each(
    database: str | None, pack_name: str, screened: list[tuple[ScreeningResult, Profile]]
) -> list[list[Comparable] | None]:
    """Comparables for each screened company, from the database if there is one (none is created).

    ``database`` None means none was asked for: the comparables are not looked up (None each).
    "" is the default database; one that does not exist yet holds no comparables.
    """
    if database is None:
        return [None for _ in screened]
    from screener import store

    engine = store.connect_existing(database or None)
    if engine is None:
        return [[] for _ in screened]
    try:
        return [find(engine, profile, result.company.key, pack_name) for result, profile in screened]
    finally:
        engine.dispose()


def distance(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Mean distance over the numeric facts; a fact only one profile gives costs a fixed penalty."""
    total, counted = 0.0, 0
    for path, gap in _FACTS.items():
        x, y = _number(a, path), _number(b, path)
        if x is None and y is None:
            continue
        total += _UNKNOWN_PENALTY if x is None or y is None else min(gap(x, y), _UNKNOWN_PENALTY * 2)
        counted += 1
    return round(total / counted, 6) if counted else _UNKNOWN_PENALTY


def _number(data: dict[str, Any], path: Sequence[str]) -> float | None:
    value: Any = data
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str) and len(value) >= 4 and value[:4].isdigit():
        return float(value[:4])  # a founding date: its year
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _comparable(row: Any, same_sector: bool, same_stage: bool) -> Comparable:
    profile = row.profile
    size = _number(profile, ("team", "size"))
    raised = _number(profile, ("funding", "total_raised"))
    basis = " and ".join(what for what, same in (("sector", same_sector), ("stage", same_stage)) if same)
    return Comparable(
        name=row.company_name,
        key=row.company_key,
        verdict=row.verdict,
        verdict_label=VERDICT_LABELS.get(row.verdict, row.verdict),
        score=row.score,
        screened_on=row.screened_on.isoformat(),
        stage=profile.get("stage") or "unknown",
        sector=profile.get("sector") or "unknown",
        team_size=f"{int(size):,}" if size is not None else "unknown",
        total_raised=format_money(int(raised)) if raised is not None else "unknown",
        basis=f"same {basis}",
    )
