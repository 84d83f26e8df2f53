"""Reading screenings back: a company's history, the ranked list, a memo's comparables.

Each full result is joined from its row and the rules of its pack (``pack_rules``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import String, case, cast, func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from screener.errors import Location, StoreError
from screener.screening.ranking import VERDICT_ORDER
from screener.store import packing
from screener.store.database import reason, safe_url
from screener.store.tables import PackRulesRow, Screening, ScreeningRead, ScreeningSummary


@contextlib.contextmanager
def _reading(engine: Engine) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read screenings: {reason(exc)}", Location(safe_url(str(engine.url)))) from None


def _read(engine: Engine, session: Session, rows: Sequence[Screening]) -> list[ScreeningRead]:
    """Rows as read back, each with its full result joined from the rules of its pack."""
    hashes = sorted({row.pack_hash for row in rows})
    packs = {
        stored.hash: packing.PackRules(stored.hash, stored.rules, stored.categories)
        for stored in session.exec(select(PackRulesRow).where(col(PackRulesRow.hash).in_(hashes)))
    }
    lacking = sorted(f"{row.company_name} (pack {row.pack_hash})" for row in rows if row.pack_hash not in packs)
    if lacking:  # SQLite does not enforce the foreign key: a row written by another tool may name any hash
        raise StoreError(
            f"the rules of the pack these screenings were made with are not stored: {', '.join(lacking[:5])}"
            + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""),
            Location(safe_url(str(engine.url))),
        )
    return [
        ScreeningRead.model_validate({**row.model_dump(), "result": packing.join_row(packs[row.pack_hash], row)})
        for row in rows
    ]


def history(engine: Engine, company: str) -> list[ScreeningRead]:
    """Every stored screening of a company (by name, website or key), newest first."""
    from screener.profile.model import company_key

    keys = {company_key(company, None), company_key(company, company if "." in company else None), company.lower()}
    with _reading(engine), Session(engine) as session:
        query = (
            select(Screening)
            .where(
                or_(col(Screening.company_key).in_(sorted(keys)), func.lower(Screening.company_name) == company.lower())
            )
            .order_by(col(Screening.screened_on).desc(), col(Screening.updated_at).desc(), col(Screening.id).desc())
        )
        return _read(engine, session, session.exec(query).all())


def latest(
    engine: Engine, *, verdict: str | None = None, since: dt.date | None = None, top: int | None = None
) -> list[ScreeningRead]:
    """Stored screenings, ranked (:mod:`screener.screening.ranking`), optionally filtered by verdict and date."""
    with _reading(engine), Session(engine) as session:
        query = _ranked(select(Screening), verdict, since, top)
        return _read(engine, session, session.exec(query).all())


def summaries(
    engine: Engine, *, verdict: str | None = None, since: dt.date | None = None, top: int | None = None
) -> list[ScreeningSummary]:
    """As :func:`latest`, the columns only: no profile, no result to join (``screen list`` of a large database)."""
    columns = [getattr(Screening, name) for name in ScreeningSummary.model_fields]
    with _reading(engine), engine.connect() as connection:
        rows = connection.execute(_ranked(select(*columns), verdict, since, top))
        return [ScreeningSummary.model_validate(dict(row._mapping)) for row in rows]


def ranking() -> list[Any]:
    """``ORDER BY`` terms of :func:`screener.screening.ranking.rank_key`, then company key and id."""
    verdict_rank = case(VERDICT_ORDER, value=col(Screening.verdict), else_=len(VERDICT_ORDER))
    # Knockouts are written as compact JSON (orjson), so an empty list is the text "[]" on both databases.
    knocked_out = case((cast(col(Screening.knockouts), String) == "[]", 0), else_=1)
    return [
        verdict_rank, knocked_out, col(Screening.score).desc(), col(Screening.coverage).desc(),
        col(Screening.company_key), col(Screening.id),
    ]  # fmt: skip


def _ranked(query: Any, verdict: str | None, since: dt.date | None, top: int | None) -> Any:
    if verdict:
        query = query.where(Screening.verdict == verdict)
    if since:
        query = query.where(col(Screening.screened_on) >= since)
    query = query.order_by(*ranking())
    return query.limit(top) if top else query


def peers(
    engine: Engine, *, pack_name: str, exclude_key: str, sector: str | None, stage: str | None, limit: int = 500
) -> list[ScreeningRead]:
    """The newest screenings under ``pack_name`` of other companies sharing the sector or the stage.

    Newest first, at most ``limit`` rows (a company screened under several pack versions may
    appear more than once). Sector is compared case-insensitively.
    """
    if not sector and not stage:
        return []
    shares = []
    if sector:
        shares.append(func.lower(col(Screening.profile)["sector"].as_string()) == sector.lower())
    if stage:
        shares.append(col(Screening.profile)["stage"].as_string() == stage)
    with _reading(engine), Session(engine) as session:
        query = (
            select(Screening)
            .where(Screening.pack_name == pack_name, Screening.company_key != exclude_key, or_(*shares))
            .order_by(col(Screening.screened_on).desc(), col(Screening.updated_at).desc(), col(Screening.id).desc())
            .limit(limit)
        )
        return _read(engine, session, session.exec(query).all())
