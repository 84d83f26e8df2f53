"""Reading screenings back: a company's history, the ranked list, a memo's comparables, a pack's content.

Each full result is joined from its row and the rules of its pack (``pack_rules``). ``history``
lists every distinct screening of a company; ``list`` (:func:`summaries`, :func:`latest`) the
newest screening of each company under each pack version, in the ranking order. Both filter by
pack (:func:`pack_condition`: ``NAME``, ``NAME@VERSION`` or a content hash prefix).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, case, cast, func, or_, true
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from screener.errors import Location, StoreError
from screener.screening.ranking import VERDICT_ORDER
from screener.store import packing
from screener.store.database import reason, safe_url
from screener.store.tables import PackRulesRow, Screening, ScreeningColumns, ScreeningRead, ScreeningSummary

if TYPE_CHECKING:  # the store reads no rule pack: `screen list` need not import one
    from screener.rules.rulebook import Rulebook


@contextlib.contextmanager
def _reading(engine: Engine) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read screenings: {reason(exc)}", Location(safe_url(str(engine.url)))) from None


def _read(engine: Engine, session: Session, rows: Sequence[Screening]) -> list[ScreeningRead]:
    """Rows as read back, each with its full result joined from the rules of its pack."""
    hashes = sorted({row.pack_hash for row in rows})
    columns = (col(PackRulesRow.hash), col(PackRulesRow.rules), col(PackRulesRow.categories))
    packs = {
        hash_: packing.PackRules(hash_, rules, categories)
        for hash_, rules, categories in session.exec(select(*columns).where(col(PackRulesRow.hash).in_(hashes)))
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


def pack_condition(pack: str | None, table: Any = None) -> Any:
    """Rows of the pack named ``pack``: ``NAME``, ``NAME@VERSION`` (a label as stored, such as
    ``1.1.0+dev.fe40b0925a80``), or a prefix of the content hash (at least 7 hex digits), which also
    matches a pack of that name. None: every pack. ``table``: an alias of ``screening`` to read."""
    if not pack:
        return true()
    columns = (Screening.__table__ if table is None else table).c  # type: ignore[attr-defined]
    if "@" in pack:
        name, version = pack.split("@", 1)
        return (columns.pack_name == name) & (columns.pack_version == version)
    named = columns.pack_name == pack
    if len(pack) >= 7 and all(c in "0123456789abcdef" for c in pack.lower()):
        return or_(named, columns.pack_hash.startswith(pack.lower()))
    return named


def matches_pack(row: ScreeningColumns, pack: str) -> bool:
    """Whether a stored screening is of the pack ``pack`` names, as :func:`pack_condition` decides in SQL."""
    if "@" in pack:
        return [row.pack_name, row.pack_version] == pack.split("@", 1)
    hashed = len(pack) >= 7 and all(c in "0123456789abcdef" for c in pack.lower())
    return row.pack_name == pack or (hashed and row.pack_hash.startswith(pack.lower()))


def history(engine: Engine, company: str, *, pack: str | None = None) -> list[ScreeningRead]:
    """Every stored screening of a company (by name, website or key), newest first, optionally of one pack."""
    from screener.profile.model import company_key

    keys = {company_key(company, None), company_key(company, company if "." in company else None), company.lower()}
    with _reading(engine), Session(engine) as session:
        query = (
            select(Screening)
            .where(
                or_(
                    col(Screening.company_key).in_(sorted(keys)), func.lower(Screening.company_name) == company.lower()
                ),
                pack_condition(pack),
            )
            .order_by(*_newest_first())
        )
        return _read(engine, session, session.exec(query).all())


def latest(
    engine: Engine,
    *,
    verdict: str | None = None,
    since: dt.date | None = None,
    top: int | None = None,
    pack: str | None = None,
) -> list[ScreeningRead]:
    """The newest screening of each company under each pack version, ranked (:mod:`screener.screening.ranking`),
    optionally filtered by verdict, screening date and pack."""
    with _reading(engine), Session(engine) as session:
        query = _ranked(select(Screening), verdict, since, top, pack)
        return _read(engine, session, session.exec(query).all())


def summaries(
    engine: Engine,
    *,
    verdict: str | None = None,
    since: dt.date | None = None,
    top: int | None = None,
    pack: str | None = None,
) -> list[ScreeningSummary]:
    """As :func:`latest`, the columns only: no profile, no result to join (``screen list`` of a large database)."""
    columns = [getattr(Screening, name) for name in ScreeningSummary.model_fields]
    with _reading(engine), engine.connect() as connection:
        rows = connection.execute(_ranked(select(*columns), verdict, since, top, pack))
        return [ScreeningSummary.model_validate(dict(row._mapping)) for row in rows]


def _newest_first() -> list[Any]:
    return [col(Screening.screened_on).desc(), col(Screening.updated_at).desc(), col(Screening.id).desc()]


def ranking() -> list[Any]:
    """``ORDER BY`` terms of :func:`screener.screening.ranking.rank_key`, then company key and id."""
    verdict_rank = case(VERDICT_ORDER, value=col(Screening.verdict), else_=len(VERDICT_ORDER))
    # Knockouts are written as compact JSON (orjson), so an empty list is the text "[]" on both databases.
    knocked_out = case((cast(col(Screening.knockouts), String) == "[]", 0), else_=1)
    return [
        verdict_rank, knocked_out, col(Screening.score).desc(), col(Screening.coverage).desc(),
        col(Screening.company_key), col(Screening.id),
    ]  # fmt: skip


def _ranked(query: Any, verdict: str | None, since: dt.date | None, top: int | None, pack: str | None) -> Any:
    # Each company's newest screening under each pack version; the filters apply to that one, so a
    # company that was a strong fit once and is a pass now is not listed as a strong fit.
    newest = (
        select(
            col(Screening.id).label("id"),
            func.row_number()
            .over(partition_by=(Screening.company_key, Screening.pack_name, Screening.pack_version),
                  order_by=_newest_first())
            .label("number"),
        )
        .where(pack_condition(pack))
        .subquery()
    )  # fmt: skip
    query = query.join(newest, newest.c.id == Screening.id).where(newest.c.number == 1)
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
            .order_by(*_newest_first())
            .limit(limit)
        )
        return _read(engine, session, session.exec(query).all())


def released(engine: Engine, rulebook: Rulebook) -> Rulebook:
    """``rulebook``, or a development version of it when the database binds its version to other content.

    A version its lock file names is bound by the lock (:mod:`screener.rules.identity`); otherwise
    by the first content stored under it. A pack screened with edited content and the same
    version is thus kept apart from the version's screenings, never merged into them.
    """
    if rulebook.dev or rulebook.locked:
        return rulebook
    label = (col(Screening.pack_name) == rulebook.name) & (col(Screening.pack_version) == rulebook.spec.version)
    with _reading(engine), engine.connect() as connection:
        # Two seeks on ix_screening_pack (hashes below and above this one), not a scan of the version's rows.
        other = None
        for differs in (col(Screening.pack_hash) < rulebook.hash, col(Screening.pack_hash) > rulebook.hash):
            other = (
                other or connection.execute(select(col(Screening.pack_hash)).where(label, differs).limit(1)).scalar()
            )
    if other is None:
        return rulebook
    return rulebook.as_dev(
        f"the database holds screenings of {rulebook.name} {rulebook.spec.version} made with other content "
        f"({other[:12]}, this pack is {rulebook.hash[:12]})"
    )


def pack_contents(engine: Engine, hashes: Sequence[str]) -> dict[str, str | None]:
    """The stored content of each pack hash given (None: stored before its content was kept); absent: unknown."""
    with _reading(engine), engine.connect() as connection:
        rows = connection.execute(
            select(col(PackRulesRow.hash), col(PackRulesRow.content)).where(col(PackRulesRow.hash).in_(sorted(hashes)))
        )
        return {hash_: content for hash_, content in rows}


def pages(engine: Engine, *, company: str | None = None, size: int = 500) -> Iterator[list[ScreeningRead]]:
    """Every stored screening (of ``company``, when given, as :func:`history` finds it), ``size`` at a time, by id."""
    if company is not None:
        rows = history(engine, company)
        yield from (rows[start : start + size] for start in range(0, len(rows), size))
        return
    last = 0
    while True:
        with _reading(engine), Session(engine) as session:
            query = select(Screening).where(col(Screening.id) > last).order_by(col(Screening.id)).limit(size)
            page = _read(engine, session, session.exec(query).all())
        if not page:
            return
        yield page
        last = page[-1].id
