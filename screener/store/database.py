"""Where the screening database is and how it is opened: URLs, engines, the schema's migrations.

SQLite by default (a file in the user data folder), any SQLAlchemy URL (PostgreSQL) for a team.
The schema is created and migrated by Alembic (``screener/store/migrations``) on first use and
its revision is recorded there; :func:`connect_existing` opens for reading only and never
creates or migrates anything. SQLite runs in WAL mode, and :func:`checkpointing` copies its
log in a background thread while a batch writes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import create_engine

from screener.errors import ConfigError, Location, StoreError

_log = logging.getLogger(__name__)


ENV_URL = "SCREENER_DATABASE_URL"


HEAD_REVISION = "0007"


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
    except (ArgumentError, ValueError):
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
        raise StoreError(f"cannot open database {safe_url(str(engine.url))}: {reason(exc)}", Location("--db")) from None
    except BaseException:
        engine.dispose()
        raise
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
        raise StoreError(f"cannot open database {safe_url(resolved)}: {reason(exc)}", Location("--db")) from None
    if revision == HEAD_REVISION:
        return engine
    engine.dispose()
    if revision is None:
        return None
    refuse_newer(engine, revision)
    raise StoreError(
        f"the database schema is at revision {revision}, this release needs {HEAD_REVISION}: "
        "run any command that writes (such as 'screen PROFILE') to migrate it",
        Location(safe_url(resolved)),
    )


def _parse(url: str | None) -> tuple[str, URL]:
    """The URL to use (default: :func:`default_url`; a plain path is a SQLite file), parsed and checked.

    A URL that cannot be read, or a SQLite URL that names no file (an in-memory database, gone
    when the command ends, though it would print "saved"), is a configuration error.
    """
    resolved = normalise_url(url or default_url())
    try:
        parsed = make_url(resolved)
    except ArgumentError:
        raise ConfigError(f"not a database URL: {_hidden(resolved)!r}", Location("--db")) from None
    except ValueError:  # SQLAlchemy reads the port with int(): "h:abc", or an unclosed "[::1"
        raise ConfigError(
            f"not a database URL: {_hidden(resolved)!r} (its host or port cannot be read: a port is a number, "
            "an IPv6 address is written in brackets, [::1])",
            Location("--db"),
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            raise ConfigError(
                f"{_hidden(resolved)!r} names no database file (SQLite would keep the screenings in memory and "
                "lose them when the command ends); write sqlite:///path/to/file.db, or a file path",
                Location("--db"),
            )
        if "\x00" in database:
            raise ConfigError(
                f"the database file name in {_hidden(resolved)!r} holds a NUL character", Location("--db")
            )
    return resolved, parsed


def _hidden(url: str) -> str:
    """``url`` as written, for a message, with its password hidden (also when it cannot be parsed)."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _engine(url: str | None, *, create_folder: bool, autocheckpoint: bool = True) -> Engine:
    url, parsed = _parse(url)
    if create_folder and parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        try:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the database folder: {exc.strerror or exc}", Location(parsed.database)
            ) from None
    postgresql = parsed.get_backend_name() == "postgresql"
    connect_args: dict[str, Any] = {}
    if postgresql and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT
    try:
        # orjson: a batch writes two JSON documents per company, and json.dumps was its largest cost;
        # reading back (history, a migration) parses them.
        engine = create_engine(url, json_serializer=_dumps, json_deserializer=_loads, connect_args=connect_args)
    except ImportError as exc:
        raise ConfigError(_missing_driver(parsed.get_backend_name(), exc.name or str(exc)), Location("--db")) from None
    except ArgumentError as exc:
        raise StoreError(f"cannot use database {safe_url(url)}: {exc}", Location("--db")) from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if not autocheckpoint:
            event.listen(engine, "connect", _no_autocheckpoint)
    if postgresql and "lock_timeout" not in str(parsed.query.get("options", "")):
        event.listen(engine, "connect", _pg_lock_timeout)
    return engine


def _missing_driver(backend: str, module: str) -> str:
    """What to install for a database whose driver is missing: the extra that brings it, when there is one."""
    if backend == "postgresql":
        return f"PostgreSQL needs the driver {module}, which is not installed: pip install 'screener[postgres]'"
    return f"the {backend} driver {module} is not installed: pip install {module}"


#: Seconds a PostgreSQL connection may take to be established (a host that never answers), unless
#: the URL says otherwise (``?connect_timeout=N``).
PG_CONNECT_TIMEOUT = 10
#: How long a PostgreSQL statement waits for a lock another session holds before it fails, unless
#: the URL sets it (``?options=-c%20lock_timeout%3D5s``); SQLite writers wait as long (busy_timeout).
PG_LOCK_TIMEOUT = "30s"


def _pg_lock_timeout(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"SET lock_timeout = '{PG_LOCK_TIMEOUT}'")
    cursor.close()
    dbapi_connection.commit()  # a SET in psycopg's implicit transaction would be undone by the pool's rollback


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
        raise StoreError(f"cannot checkpoint the database: {reason(failures[0])}", Location(safe_url(str(engine.url))))


def _dumps(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def _loads(text: str | bytes) -> Any:
    import orjson

    return orjson.loads(text)


def reason(exc: SQLAlchemyError) -> str:
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
    refuse_newer(engine, before)
    if before is not None and before not in known_revisions():
        raise StoreError(
            f"the database schema is at revision {before!r}, which no Screener release wrote; nothing was changed",
            Location(safe_url(str(engine.url))),
        )
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


def known_revisions() -> frozenset[str]:
    """The schema revisions this release can read or migrate from: its migration files' numbers."""
    folder = Path(__file__).with_name("migrations") / "versions"
    return frozenset(p.name.split("_", 1)[0] for p in folder.glob("[0-9]*_*.py"))


def refuse_newer(engine: Engine, revision: str | None) -> None:
    """A database at a revision this release does not know was written by a newer one: touch nothing."""
    if revision is None or revision in known_revisions():
        return
    where = Location(safe_url(str(engine.url)))
    if revision.isdigit() and HEAD_REVISION.isdigit() and int(revision) > int(HEAD_REVISION):
        raise StoreError(
            f"this database was written by a newer Screener (schema {revision}; this release knows schemas up to "
            f"{HEAD_REVISION}); upgrade Screener to use it. Nothing was changed",
            where,
        )


def _current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
