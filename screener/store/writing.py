"""Saving screenings: typed results or a batch's pre-encoded rows, in one transaction.

A row is one distinct screening, keyed on (company, pack hash, profile hash, outcome hash)
(:mod:`screener.store.identity`): saving the same screening again adds no row, it only records
the later screening date (and that screening's explanations). What every result of a pack repeats
(its rules), and the pack's full content, are written once per pack hash into ``pack_rules``
(:mod:`screener.store.packing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from screener.errors import Location, StoreError
from screener.store import packing
from screener.store.database import reason, safe_url
from screener.store.identity import outcome_hash, profile_hash
from screener.store.tables import PackRulesRow, Screening

if TYPE_CHECKING:  # the store reads no rule pack: `screen list` need not import one
    from screener.rules.rulebook import Rulebook
    from screener.screening.result import ScreeningResult


@dataclass(frozen=True, slots=True)
class Encoded:
    """One screening ready to write: its columns, the JSON ones already encoded as JSON text.

    A batch builds these straight from its own encoding of the result (:mod:`screener.store.stored`),
    so nothing is turned into dicts only to be serialised again.
    """

    company_key: str
    company_name: str
    website: str | None
    pack_name: str
    pack_version: str
    pack_hash: str
    profile_hash: str
    outcome_hash: str
    screened_on: dt.date
    score: float
    verdict: str
    coverage: float
    knockouts: bytes  #: JSON
    matched: bytes  #: JSON
    profile: bytes  #: JSON
    details: bytes  #: JSON: packing.details of the result
    warnings: bytes  #: JSON: the result's plausibility warnings
    score_worst: float
    score_best: float
    verdict_worst: str
    verdict_best: str


def save(
    engine: Engine, rulebook: Rulebook, items: Iterable[tuple[ScreeningResult | dict[str, Any], dict[str, Any]]]
) -> int:
    """Save screenings made with ``rulebook`` in one transaction; returns the count.

    Each item is a result (typed, or its JSON form) and the profile snapshot as JSON-ready data.
    """
    rows: list[Encoded] = []
    for result, profile in items:
        data = result if isinstance(result, dict) else result.model_dump(mode="json")
        if data["pack"]["hash"] != rulebook.hash:
            raise ValueError(f"a result of pack {data['pack']['hash']} saved as made with {rulebook.hash}")
        rows.append(_encoded(data, profile))
    return save_encoded(engine, rows, [packing.of_rulebook(rulebook)])


def save_encoded(
    engine: Engine,
    rows: Sequence[Encoded],
    packs: Sequence[packing.PackRules],
    remove: Sequence[tuple[str, str, str, dt.date]] = (),
    created_since: dt.datetime | None = None,
) -> int:
    """Save encoded screenings, and the packs they were made with, in one transaction; returns the count.

    ``packs`` must hold every pack hash the rows name, with its content (a pack already stored is
    kept; one stored before its content was kept gets it). ``remove``: (company key, pack hash,
    profile hash, screening date) of rows to delete in the same transaction; with ``created_since``
    (UTC), only those created since then: a row an earlier run stored is history, and stays (its
    update time put back to its creation, so it does not pass for the company's newest screening).
    """
    if not rows and not remove:
        return 0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # Sorted by key so that concurrent writers lock rows in one order and cannot deadlock.
    rows = sorted(rows, key=lambda r: (r.company_key, r.pack_hash, r.profile_hash, r.outcome_hash))
    try:
        with engine.begin() as connection:
            if remove:
                table = Screening.__table__  # type: ignore[attr-defined]
                identity = tuple_(table.c.company_key, table.c.pack_hash, table.c.profile_hash, table.c.screened_on)
                named = identity.in_(sorted(set(remove)))
                if created_since is None:
                    connection.execute(table.delete().where(named))
                else:
                    since = created_since.replace(tzinfo=None)
                    connection.execute(table.delete().where(named & (table.c.created_at >= since)))
                    # Kept as history, but this batch only screened those facts again: its update
                    # time goes back, so that the company's newest screening is the winner's.
                    connection.execute(
                        table.update().where(named & (table.c.created_at < since)).values(updated_at=table.c.created_at)
                    )
            if not rows:
                return 0
            if any(p.content is None for p in packs):
                raise ValueError("a pack is saved without its content")
            insert = _insert(engine, PackRulesRow)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=["hash"],
                    set_={"content": insert.excluded.content},
                    where=PackRulesRow.__table__.c.content.is_(None),  # type: ignore[attr-defined]
                ),
                [{"hash": p.hash, "rules": p.rules, "categories": p.categories, "content": p.content,
                  "created_at": now} for p in packs],
            )  # fmt: skip
            if engine.dialect.name == "sqlite":
                # The driver directly: SQLAlchemy's per-value processing cost more than SQLite's own
                # insert. Values are stored exactly as SQLAlchemy stores them (dates as ISO text).
                stamp = now.isoformat(sep=" ", timespec="microseconds")
                connection.exec_driver_sql(
                    _SQLITE_UPSERT,
                    [(*_plain(r), r.screened_on.isoformat(), r.score, r.verdict, r.coverage, r.knockouts.decode(),
                      r.matched.decode(), r.profile.decode(), r.details.decode(), r.warnings.decode(), r.score_worst,
                      r.score_best, r.verdict_worst, r.verdict_best, stamp, stamp)
                     for r in rows],
                )  # fmt: skip
            else:
                connection.execute(_upsert(engine), [_values(r, now) for r in rows])
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot save screenings: {reason(exc)}", Location(safe_url(str(engine.url)))) from None
    return len(rows)


_COLUMNS = (
    "company_key", "company_name", "website", "pack_name", "pack_version", "pack_hash", "profile_hash",
    "outcome_hash", "screened_on", "score", "verdict", "coverage", "knockouts", "matched", "profile", "details",
    "warnings", "score_worst", "score_best", "verdict_worst", "verdict_best", "created_at", "updated_at",
)  # fmt: skip

#: What identifies a row (``store.identity``): the unique index.
IDENTITY = ("company_key", "pack_hash", "profile_hash", "outcome_hash")

#: The same screening made again keeps the row and its creation time; the row then records the
#: later screening: its date, its explanations (rationales rendered as of that date), and the
#: pack's label (a development version's content, locked since, is the release). Score, verdict and
#: everything else that decides are the same by the outcome hash. Made again as of an earlier
#: date, it changes nothing.
_UPDATED = tuple(c for c in _COLUMNS if c not in {"created_at", *IDENTITY})


_SQLITE_UPSERT = " ".join(
    (
        "INSERT INTO screening",
        "(" + ", ".join(_COLUMNS) + ")",
        "VALUES (" + ", ".join("?" for _ in _COLUMNS) + ")",
        "ON CONFLICT (" + ", ".join(IDENTITY) + ") DO UPDATE SET",
        ", ".join(c + " = excluded." + c for c in _UPDATED),
        "WHERE excluded.screened_on >= screening.screened_on",
    )
)


def _plain(row: Encoded) -> tuple[str, str, str | None, str, str, str, str, str]:
    return (row.company_key, row.company_name, row.website, row.pack_name, row.pack_version, row.pack_hash,
            row.profile_hash, row.outcome_hash)  # fmt: skip


def _insert(engine: Engine, model: type[SQLModel]) -> Any:
    """An INSERT for ``model``'s table in the engine's dialect (both have ON CONFLICT)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(model.__table__)  # type: ignore[attr-defined]


def _upsert(engine: Engine) -> Any:
    statement = _insert(engine, Screening)
    table = Screening.__table__  # type: ignore[attr-defined]
    return statement.on_conflict_do_update(
        index_elements=list(IDENTITY),
        set_={c: statement.excluded[c] for c in _UPDATED},
        where=statement.excluded.screened_on >= table.c.screened_on,
    )


def _values(row: Encoded, now: dt.datetime) -> dict[str, Any]:
    import orjson

    # orjson.Fragment: the JSON columns' serialiser (_dumps) writes already encoded JSON as it is.
    return {
        **dict(zip(_COLUMNS[:8], _plain(row), strict=True)),
        "screened_on": row.screened_on,
        "score": row.score,
        "verdict": row.verdict,
        "coverage": row.coverage,
        "knockouts": orjson.Fragment(row.knockouts),
        "matched": orjson.Fragment(row.matched),
        "profile": orjson.Fragment(row.profile),
        "details": orjson.Fragment(row.details),
        "warnings": orjson.Fragment(row.warnings),
        "score_worst": row.score_worst,
        "score_best": row.score_best,
        "verdict_worst": row.verdict_worst,
        "verdict_best": row.verdict_best,
        "created_at": now,
        "updated_at": now,
    }


def _encoded(result: dict[str, Any], profile: dict[str, Any]) -> Encoded:
    import orjson

    company, pack = result["company"], result["pack"]
    details = packing.details(result)
    knockouts = list(result["knockouts"])
    matched = [r["id"] for r in result["rules"] if r["outcome"] == "matched"]
    warnings = orjson.dumps(result["warnings"])
    span = result["score_range"]
    return Encoded(
        company_key=company["key"],
        company_name=company["name"],
        website=company["website"],
        pack_name=pack["name"],
        pack_version=pack["version"],
        pack_hash=pack["hash"],
        profile_hash=profile_hash(profile),
        outcome_hash=outcome_hash(
            result["score"], result["verdict"], result["coverage"], knockouts, matched, details, warnings
        ),
        screened_on=dt.date.fromisoformat(result["screened_on"]),
        score=result["score"],
        verdict=result["verdict"],
        coverage=result["coverage"],
        knockouts=orjson.dumps(knockouts),
        matched=orjson.dumps(matched),
        profile=orjson.dumps(profile),
        details=orjson.dumps(details),
        warnings=warnings,
        score_worst=span["worst"],
        score_best=span["best"],
        verdict_worst=span["worst_verdict"],
        verdict_best=span["best_verdict"],
    )
