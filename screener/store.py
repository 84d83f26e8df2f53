"""Persistence of screenings with SQLModel: SQLite by default, any SQLAlchemy URL (PostgreSQL).

One row per (company, pack name, pack version): re-screening a company with the same pack
updates its row, a new pack version adds a row and so keeps history. A row holds the result's
per-company part (:mod:`screener.packing`); what every result of a pack repeats (its rules'
titles, categories, points, tags) is stored once per pack hash in ``pack_rules``, and the reads
join the two back into the full result. The schema is created and migrated by Alembic
(``screener/migrations``) on first use and its version is recorded there. Writes are
transactional: a batch of screenings is saved entirely or not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, UniqueConstraint, event, func, or_, tuple_
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from screener import packing
from screener.errors import Location, StoreError
from screener.result import ScreeningResult

_log = logging.getLogger(__name__)

ENV_URL = "SCREENER_DATABASE_URL"
HEAD_REVISION = "0002"


class ScreeningColumns(SQLModel):
    """What a stored screening says in columns of its own (all but its profile and details documents)."""

    company_key: str = Field(index=True, max_length=300)
    company_name: str = Field(max_length=300)
    website: str | None = Field(default=None, max_length=2000)
    pack_name: str = Field(max_length=200)
    pack_version: str = Field(max_length=100)
    pack_hash: str = Field(max_length=64, foreign_key="pack_rules.hash")
    screened_on: dt.date = Field(index=True)
    score: float = Field(index=True)
    verdict: str = Field(index=True, max_length=20)
    coverage: float
    knockouts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    matched: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ScreeningBase(ScreeningColumns):
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Screening(ScreeningBase, table=True):
    __tablename__ = "screening"
    __table_args__ = (UniqueConstraint("company_key", "pack_name", "pack_version", name="uq_screening_company_pack"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: NaiveDatetime  #: UTC
    updated_at: NaiveDatetime  #: UTC


class PackRulesRow(SQLModel, table=True):
    """The rules of a pack as every result under it shows them (``packing.PackRules``), by pack hash."""

    __tablename__ = "pack_rules"

    hash: str = Field(primary_key=True, max_length=64)
    rules: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: NaiveDatetime  #: UTC


class ScreeningSummary(ScreeningColumns):
    """A stored screening's columns without its profile and result (what ``screen list`` shows)."""

    id: int
    created_at: NaiveDatetime
    updated_at: NaiveDatetime


class ScreeningRead(ScreeningBase):
    """A stored screening as read back, with its full result (what ``history`` shows and ``memo --from-db`` reads)."""

    id: int
    created_at: NaiveDatetime
    updated_at: NaiveDatetime
    result: dict[str, Any]  #: the JSON form of the ScreeningResult, joined from the row and its pack's rules


def default_url() -> str:
    """The database URL: $SCREENER_DATABASE_URL, else a SQLite file in the user data folder."""
    from platformdirs import user_data_dir

    env = os.environ.get(ENV_URL)
    if env:
        return env
    return f"sqlite:///{Path(user_data_dir('screener', appauthor=False)) / 'screener.db'}"


def normalise_url(url: str) -> str:
    """Accept a SQLAlchemy URL, or a plain file path meaning a SQLite database."""
    return url if "://" in url else f"sqlite:///{Path(url).expanduser().resolve()}"


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


#: Page size of a new SQLite database. A row holds the full result and profile documents (about
#: 12 KB with the default pack): with SQLite's default 4 KiB pages every row spills into a chain
#: of overflow pages, and inserts and checkpoints go page by page. Writing 20,000 batch rows took
#: 0.6 s with 64 KiB pages against 1.4 s with 4 KiB pages, and the file came out 6% smaller.
#: An existing database keeps the page size it was created with.
SQLITE_PAGE_SIZE = 65536


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL: only a new database takes it
    # WAL lets readers go on while a batch writes; the busy timeout makes writers queue, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def connect(url: str | None = None, *, autocheckpoint: bool = True) -> Engine:
    """An engine for ``url`` (default: :func:`default_url`) with the schema created and current.

    ``autocheckpoint=False``: a SQLite writer leaves the write-ahead log to a :func:`checkpointing`
    thread instead of copying it into the database (and waiting for the disk) at its commits.
    """
    engine = _engine(url, create_folder=True, autocheckpoint=autocheckpoint)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot open database {safe_url(str(engine.url))}: {_reason(exc)}", Location("--db")
        ) from None
    return engine


def connect_existing(url: str | None = None) -> Engine | None:
    """An engine for reading only: None if there is no screening database at ``url`` yet.

    Nothing is created or migrated (memo drafts only read, perhaps as a read-only database
    user); a database whose schema is older than this release is an error that says how to
    bring it up to date.
    """
    resolved, parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return None
    engine = _engine(resolved, create_folder=False)
    try:
        revision = _current_revision(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open database {safe_url(resolved)}: {_reason(exc)}", Location("--db")) from None
    if revision == HEAD_REVISION:
        return engine
    engine.dispose()
    if revision is None:
        return None
    raise StoreError(
        f"the database schema is at revision {revision}, this release needs {HEAD_REVISION}: "
        "run any command that writes (such as 'screen PROFILE') to migrate it",
        Location(safe_url(resolved)),
    )


def _parse(url: str | None) -> tuple[str, URL]:
    """The URL to use (default: :func:`default_url`; a plain path is a SQLite file), parsed."""
    resolved = normalise_url(url or default_url())
    try:
        return resolved, make_url(resolved)
    except ArgumentError:
        raise StoreError(f"not a database URL: {resolved!r}", Location("--db")) from None


def _engine(url: str | None, *, create_folder: bool, autocheckpoint: bool = True) -> Engine:
    url, parsed = _parse(url)
    if create_folder and parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        try:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the database folder: {exc.strerror or exc}", Location(parsed.database)
            ) from None
    try:
        # orjson: a batch writes two JSON documents per company, and json.dumps was its largest cost;
        # reading back (history, a migration) parses them.
        engine = create_engine(url, json_serializer=_dumps, json_deserializer=_loads)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database {safe_url(url)}: {exc}", Location("--db")) from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if not autocheckpoint:
            event.listen(engine, "connect", _no_autocheckpoint)
    return engine


#: The write-ahead log size past which the checkpoint thread truncates it (bytes).
WAL_LIMIT = 64 * 1024 * 1024


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@contextlib.contextmanager
def checkpointing(engine: Engine, every: float = 0.05) -> Iterator[None]:
    """While the block runs, copy a SQLite database's write-ahead log into it from a background thread.

    A batch writes about 12 KB per company, and SQLite's automatic checkpoint runs inside the
    commit that crosses its threshold: the writer then waits while the log is copied and synced
    to disk (measured: most of the time a batch spent in the database). Writers connected with
    ``autocheckpoint=False`` only append to the log; this thread copies it meanwhile (sqlite3
    releases the GIL), and once more when the block ends, so the database is complete when the
    batch returns. Nothing is less durable: commits reach the log exactly as before. Does nothing
    for other databases.
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    import threading

    stop = threading.Event()
    failures: list[SQLAlchemyError] = []

    log = Path(f"{engine.url.database}-wal")

    def run() -> None:
        try:
            with engine.connect() as connection:
                while not stop.wait(every):
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                    # While writers keep appending, a passive checkpoint never finds the log
                    # wholly copied, so SQLite never starts it over and it grows by every commit
                    # (a gigabyte in seconds with small chunks). Past a bound, wait for the
                    # writers (they queue on the busy timeout meanwhile) and truncate it.
                    if _size(log) > WAL_LIMIT:
                        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except SQLAlchemyError as exc:
            failures.append(exc)

    thread = threading.Thread(target=run, name="screener-checkpoint", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if failures:
        raise StoreError(f"cannot checkpoint the database: {_reason(failures[0])}", Location(safe_url(str(engine.url))))


def _dumps(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def _loads(text: str | bytes) -> Any:
    import orjson

    return orjson.loads(text)


def _reason(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def migrate(engine: Engine) -> None:
    """Bring the schema to the current revision with Alembic (skipped when already current).

    All of it in one transaction, on SQLite too, where the driver would otherwise commit each
    schema change on its own: a migration that fails or is interrupted changes nothing. A
    SQLite database brought up from an older revision is then vacuumed, since converting rows
    leaves their old pages free in the file.
    """
    before = _current_revision(engine)
    if before == HEAD_REVISION:
        return  # the common case, answered without importing Alembic (start-up time matters)
    from alembic import command
    from alembic.config import Config

    if before is not None:
        # Logged, not printed: Python shows warnings on stderr when nothing configured logging,
        # and an application embedding Screener decides for itself.
        _log.warning(
            "converting database %s from schema %s to %s: once, and a large database takes a while",
            safe_url(str(engine.url)), before, HEAD_REVISION,
        )  # fmt: skip
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Two batches starting on a new database at once: one migrates, the other waits.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7254001)")
        elif engine.dialect.name == "sqlite":
            # The driver leaves DDL outside any transaction unless one is open; IMMEDIATE also
            # makes a second process starting at once wait here, then find the schema current.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    if before is not None and engine.dialect.name == "sqlite":
        # Only space is at stake if it cannot run (a reader may hold the file).
        with (
            contextlib.suppress(SQLAlchemyError),
            engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection,
        ):
            connection.exec_driver_sql("VACUUM")


def _current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@dataclass(frozen=True, slots=True)
class Encoded:
    """One screening ready to write: its columns, the JSON ones already encoded as JSON text.

    A batch builds these straight from its own encoding of the result (:mod:`screener.stored`),
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
                      r.matched.decode(), r.profile.decode(), r.details.decode(), stamp, stamp) for r in rows],
                )  # fmt: skip
            else:
                connection.execute(_upsert(engine), [_values(r, now) for r in rows])
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot save screenings: {_reason(exc)}", Location(safe_url(str(engine.url)))) from None
    return len(rows)


_COLUMNS = (
    "company_key", "company_name", "website", "pack_name", "pack_version", "pack_hash", "screened_on", "score",
    "verdict", "coverage", "knockouts", "matched", "profile", "details", "created_at", "updated_at",
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
    )


@contextlib.contextmanager
def _reading(engine: Engine) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read screenings: {_reason(exc)}", Location(safe_url(str(engine.url)))) from None


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
    from screener.profile import company_key

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
    """Stored screenings, best score first, optionally filtered by verdict and screening date."""
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


def _ranked(query: Any, verdict: str | None, since: dt.date | None, top: int | None) -> Any:
    if verdict:
        query = query.where(Screening.verdict == verdict)
    if since:
        query = query.where(col(Screening.screened_on) >= since)
    query = query.order_by(col(Screening.score).desc(), col(Screening.company_key), col(Screening.id))
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
