"""Saving screenings: typed results or a batch's pre-encoded rows, upserted in one transaction.

A row is keyed on (company, pack name, pack version); what every result of a pack repeats (its
rules) is written once per pack hash into ``pack_rules`` (:mod:`screener.store.packing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from screener.errors import Location, StoreError
from screener.screening.result import ScreeningResult
from screener.store import packing
from screener.store.database import reason, safe_url
from screener.store.tables import PackRulesRow, Screening


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
    screened_on: dt.date
    score: float
    verdict: str
    coverage: float
    knockouts: bytes  #: JSON
    matched: bytes  #: JSON
    profile: bytes  #: JSON
    details: bytes  #: JSON: packing.details of the result
    warnings: bytes  #: JSON: the result's plausibility warnings


def save(engine: Engine, items: Iterable[tuple[ScreeningResult | dict[str, Any], dict[str, Any]]]) -> int:
    """Insert or update screenings in one transaction; returns the count.

    Each item is a result (typed, or its JSON form) and the
    profile snapshot as JSON-ready data.
    """
    rows: list[Encoded] = []
    packs: dict[str, packing.PackRules] = {}
    for result, profile in items:
        data = result if isinstance(result, dict) else result.model_dump(mode="json")
        rows.append(_encoded(data, profile))
        packs.setdefault(data["pack"]["hash"], packing.pack_rules(data))
    return save_encoded(engine, rows, list(packs.values()))


def save_encoded(
    engine: Engine,
    rows: Sequence[Encoded],
    packs: Sequence[packing.PackRules],
    remove: Sequence[tuple[str, str, str]] = (),
) -> int:
    """Insert or update encoded screenings, and the rules of their packs, in one transaction; returns the count.

    ``packs`` must hold the rules of every pack hash the rows name (a pack already stored is kept).
    ``remove``: (company key, pack name, pack version) of rows to delete in the same transaction.
    """
    if not rows and not remove:
        return 0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # Sorted by key so that concurrent writers lock rows in one order and cannot deadlock.
    rows = sorted(rows, key=lambda r: (r.company_key, r.pack_name, r.pack_version))
    try:
        with engine.begin() as connection:
            if remove:
                table = Screening.__table__  # type: ignore[attr-defined]
                connection.execute(
                    table.delete().where(
                        tuple_(table.c.company_key, table.c.pack_name, table.c.pack_version).in_(sorted(set(remove)))
                    )
                )
            if not rows:
                return 0
            connection.execute(
                _insert(engine, PackRulesRow).on_conflict_do_nothing(index_elements=["hash"]),
                [{"hash": p.hash, "rules": p.rules, "categories": p.categories, "created_at": now} for p in packs],
            )
            if engine.dialect.name == "sqlite":
                # The driver directly: SQLAlchemy's per-value processing cost more than SQLite's own
                # insert. Values are stored exactly as SQLAlchemy stores them (dates as ISO text).
                stamp = now.isoformat(sep=" ", timespec="microseconds")
                connection.exec_driver_sql(
                    _SQLITE_UPSERT,
                    [(*_plain(r), r.screened_on.isoformat(), r.score, r.verdict, r.coverage, r.knockouts.decode(),
                      r.matched.decode(), r.profile.decode(), r.details.decode(), r.warnings.decode(), stamp, stamp)
                     for r in rows],
                )  # fmt: skip
            else:
                connection.execute(_upsert(engine), [_values(r, now) for r in rows])
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot save screenings: {reason(exc)}", Location(safe_url(str(engine.url)))) from None
    return len(rows)


_COLUMNS = (
    "company_key", "company_name", "website", "pack_name", "pack_version", "pack_hash", "screened_on", "score",
    "verdict", "coverage", "knockouts", "matched", "profile", "details", "warnings", "created_at", "updated_at",
)  # fmt: skip


#: A re-screening keeps the row's identity and creation time, and replaces everything else.
_UPDATED = tuple(c for c in _COLUMNS if c not in {"created_at", "company_key", "pack_name", "pack_version"})


_SQLITE_UPSERT = " ".join(
    (
        "INSERT INTO screening",
        "(" + ", ".join(_COLUMNS) + ")",
        "VALUES (" + ", ".join("?" for _ in _COLUMNS) + ")",
        "ON CONFLICT (company_key, pack_name, pack_version) DO UPDATE SET",
        ", ".join(c + " = excluded." + c for c in _UPDATED),
    )
)


def _plain(row: Encoded) -> tuple[str, str, str | None, str, str, str]:
    return (row.company_key, row.company_name, row.website, row.pack_name, row.pack_version, row.pack_hash)


def _insert(engine: Engine, model: type[SQLModel]) -> Any:
    """An INSERT for ``model``'s table in the engine's dialect (both have ON CONFLICT)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(model.__table__)  # type: ignore[attr-defined]


def _upsert(engine: Engine) -> Any:
    statement = _insert(engine, Screening)
    return statement.on_conflict_do_update(
        index_elements=["company_key", "pack_name", "pack_version"],
        set_={c: statement.excluded[c] for c in _UPDATED},
    )


def _values(row: Encoded, now: dt.datetime) -> dict[str, Any]:
    import orjson

    # orjson.Fragment: the JSON columns' serialiser (_dumps) writes already encoded JSON as it is.
    return {
        **dict(zip(_COLUMNS[:6], _plain(row), strict=True)),
        "screened_on": row.screened_on,
        "score": row.score,
        "verdict": row.verdict,
        "coverage": row.coverage,
        "knockouts": orjson.Fragment(row.knockouts),
        "matched": orjson.Fragment(row.matched),
        "profile": orjson.Fragment(row.profile),
        "details": orjson.Fragment(row.details),
        "warnings": orjson.Fragment(row.warnings),
        "created_at": now,
        "updated_at": now,
    }


def _encoded(result: dict[str, Any], profile: dict[str, Any]) -> Encoded:
    import orjson

    company, pack = result["company"], result["pack"]
    return Encoded(
        company_key=company["key"],
        company_name=company["name"],
        website=company["website"],
        pack_name=pack["name"],
        pack_version=pack["version"],
        pack_hash=pack["hash"],
        screened_on=dt.date.fromisoformat(result["screened_on"]),
        score=result["score"],
        verdict=result["verdict"],
        coverage=result["coverage"],
        knockouts=orjson.dumps(list(result["knockouts"])),
        matched=orjson.dumps([r["id"] for r in result["rules"] if r["outcome"] == "matched"]),
        profile=orjson.dumps(profile),
        details=orjson.dumps(packing.details(result)),
        warnings=orjson.dumps(result["warnings"]),
    )
