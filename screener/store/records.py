"""What a batch remembers of the records it scored (table ``batch_record``), and how a re-run reads it back.

A batch that scores a record writes, beside the screening row, a :class:`Remembered`: the
record's content hash (computed by the batch, :mod:`screener.jobs.batch.unchanged`), the pack's
content hash, the row's identity, the sha256 of the details it wrote there, the dates over which
the screening holds (:mod:`screener.screening.validity`) and what the ranked output and the
duplicate rule need of the record.

A re-run asks :func:`recall` for the records of a chunk. One is recalled only when its row is
still there and still holds the details the batch wrote: a ``screen`` of the same company since
(whose details carry rendered rationales) or a row removed since (a duplicate that lost) makes
it a record to score again. Skipping a recalled record then does to its row what saving the same
screening again would (:func:`refresh`, like ``store.writing``'s upsert): it records the later
screening date and the pack's current label, and nothing else, since everything else is the same
by the row's identity and the details hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from screener.errors import Location, StoreError
from screener.store.database import reason, safe_url


@dataclass(frozen=True, slots=True)
class Remembered:
    """A record a batch scored, as it is written to ``batch_record``."""

    record_hash: str
    company_key: str
    profile_hash: str
    outcome_hash: str
    details_hash: str
    valid_from: dt.date
    valid_to: dt.date
    ranked: list[Any]  #: JSON-ready: what the batch needs of the record without validating it (jobs.batch.unchanged)


@dataclass(frozen=True, slots=True)
class Recalled:
    """A remembered record whose screening row is still as the batch wrote it."""

    row_id: int
    profile_hash: str
    valid_from: dt.date
    valid_to: dt.date
    ranked: list[Any]
    pack_version: str  #: the pack label the row holds


def details_hash(details: bytes) -> str:
    """sha256 of a row's details JSON, as written."""
    return hashlib.sha256(details).hexdigest()


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


_RECALL = """
    SELECT r.record_hash, s.id, r.profile_hash, r.valid_from, r.valid_to, r.ranked, r.details_hash,
           CAST(s.details AS TEXT), s.pack_version
    FROM batch_record AS r JOIN screening AS s
      ON s.company_key = r.company_key AND s.pack_hash = r.pack_hash AND s.profile_hash = r.profile_hash
         AND s.outcome_hash = r.outcome_hash
    WHERE r.pack_hash = {pack} AND r.record_hash IN {hashes}
"""

#: Hashes looked up per statement (SQLite allows 32,766 parameters; a chunk may be larger).
_LOOKUP = 500

#: A batch connection's SQLite page cache (KiB): the default 2 MiB holds 31 of the database's 64 KiB
#: pages, so every lookup (and every remembered record's index entry) read its pages again from the file.
_CACHE_KIB = 65536


def recall(engine: Engine, pack_hash: str, hashes: Sequence[str]) -> dict[str, Recalled]:
    """The records among ``hashes`` remembered under ``pack_hash`` whose row still holds what the batch wrote.

    Each recalled one also says the pack label its row holds (:func:`refresh` changes it only where it differs).
    """
    if not hashes:
        return {}
    wanted = sorted(set(hashes))
    rows: list[Any] = []
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":  # the driver directly: this runs for every record of a re-run
                cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
                cursor.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
                for start in range(0, len(wanted), _LOOKUP):
                    part = wanted[start : start + _LOOKUP]
                    sql = _RECALL.format(pack="?", hashes=f"({', '.join('?' * len(part))})")
                    rows.extend(cursor.execute(sql, (pack_hash, *part)))
                cursor.close()
            else:
                statement = text(_RECALL.format(pack=":pack", hashes=":hashes")).bindparams(
                    bindparam("hashes", expanding=True)
                )
                for start in range(0, len(wanted), _LOOKUP):
                    rows.extend(
                        connection.execute(statement, {"pack": pack_hash, "hashes": wanted[start : start + _LOOKUP]})
                    )
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read screenings: {reason(exc)}", Location(safe_url(str(engine.url)))) from None
    found: dict[str, Recalled] = {}
    for record_hash, row_id, profile, first, last, ranked, written, details, label in rows:
        if details is None or details_hash(details.encode()) != written:
            continue  # another command rewrote the row since: its details are not the batch's
        found[record_hash] = Recalled(
            row_id,
            profile,
            _date(first),
            _date(last),
            orjson.loads(ranked) if isinstance(ranked, str) else ranked,
            label,
        )
    return found


_COLUMNS = (
    "record_hash", "pack_hash", "company_key", "profile_hash", "outcome_hash", "details_hash", "valid_from",
    "valid_to", "ranked", "created_at",
)  # fmt: skip

#: {column} marks the placeholders; created_at is when the record was first remembered.
_UPSERT = " ".join(
    (
        f"INSERT INTO batch_record ({', '.join(_COLUMNS)})",
        f"VALUES ({', '.join('{' + c + '}' for c in _COLUMNS)})",
        "ON CONFLICT (record_hash, pack_hash) DO UPDATE SET",
        ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:-1]),
    )
)

#: What saving the same screening again changes in its row (``store.writing``): the later screening
#: date and the time; an earlier date changes nothing. And the pack's label, where it differs (a
#: development version released since): set apart, since it is indexed and hardly ever changes.
#: One statement per :data:`_LOOKUP` rows rather than one per row.
_REFRESH = "UPDATE screening SET screened_on = {on}, updated_at = {now} WHERE screened_on <= {on} AND id IN {ids}"
_RELABEL = "UPDATE screening SET pack_name = {name}, pack_version = {version} WHERE screened_on = {on} AND id IN {ids}"


def _parts(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + _LOOKUP] for start in range(0, len(ids), _LOOKUP)]


def refresh(
    engine: Engine,
    pack: tuple[str, str, str],
    on: dt.date,
    recalled: Sequence[Recalled],
    remembered: Sequence[Remembered],
) -> None:
    """In one transaction: record screening date ``on`` in the rows of skipped records, and remember scored ones.

    ``pack``: the pack's name, version label and content hash.
    """
    if not recalled and not remembered:
        return
    name, version, pack_hash = pack
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ids = sorted({r.row_id for r in recalled})  # in one order: concurrent writers cannot deadlock
    relabel = sorted({r.row_id for r in recalled if r.pack_version != version})
    entries = sorted(remembered, key=lambda r: r.record_hash)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                # The driver directly, values stored as SQLAlchemy stores them (dates as ISO text).
                day, stamp = on.isoformat(), now.isoformat(sep=" ", timespec="microseconds")
                # Remembered records go to random places of the primary key's index: keep it cached.
                connection.exec_driver_sql(f"PRAGMA cache_size = -{_CACHE_KIB}")
                for part in _parts(ids):
                    marks = f"({', '.join('?' * len(part))})"
                    connection.exec_driver_sql(_REFRESH.format(on="?1", now="?2", ids=marks), (day, stamp, *part))
                for part in _parts(relabel):
                    marks = f"({', '.join('?' * len(part))})"
                    connection.exec_driver_sql(
                        _RELABEL.format(name="?1", version="?2", on="?3", ids=marks), (name, version, day, *part)
                    )
                if entries:
                    connection.exec_driver_sql(
                        _UPSERT.format(**{c: "?" for c in _COLUMNS}),
                        [(r.record_hash, pack_hash, r.company_key, r.profile_hash, r.outcome_hash, r.details_hash,
                          r.valid_from.isoformat(), r.valid_to.isoformat(), orjson.dumps(r.ranked).decode(), stamp)
                         for r in entries],
                    )  # fmt: skip
                return
            refreshing = text(_REFRESH.format(on=":on", now=":now", ids=":ids"))
            for part in _parts(ids):
                connection.execute(
                    refreshing.bindparams(bindparam("ids", expanding=True)), {"on": on, "now": now, "ids": part}
                )
            relabelling = text(_RELABEL.format(name=":name", version=":version", on=":on", ids=":ids"))
            for part in _parts(relabel):
                connection.execute(
                    relabelling.bindparams(bindparam("ids", expanding=True)),
                    {"name": name, "version": version, "on": on, "ids": part},
                )
            if entries:
                connection.execute(
                    text(_UPSERT.format(**{c: f":{c}" for c in _COLUMNS}).replace(":ranked", "CAST(:ranked AS JSON)")),
                    [{"record_hash": r.record_hash, "pack_hash": pack_hash, "company_key": r.company_key,
                      "profile_hash": r.profile_hash, "outcome_hash": r.outcome_hash, "details_hash": r.details_hash,
                      "valid_from": r.valid_from, "valid_to": r.valid_to, "ranked": orjson.dumps(r.ranked).decode(),
                      "created_at": now} for r in entries],
                )  # fmt: skip
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot save screenings: {reason(exc)}", Location(safe_url(str(engine.url)))) from None
