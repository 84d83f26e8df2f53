"""Finding what a read command asks for: the database, and a company in it.

Read commands (``history``, ``list``, ``memo --from-db``) open the database with
:func:`open_existing`, which creates nothing (no file, no folder, no schema) and says "not
found" when there is no screening database at the URL. :func:`company_history` finds a company
by its name, website or key, then by a part of its name or key when that names one company
only; when nothing matches, the :class:`~screener.errors.NotFoundError` suggests the closest
stored name, website or key. Not found is exit code 8 everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import col

from screener.errors import Location, NotFoundError, did_you_mean
from screener.store.database import connect_existing, default_url, normalise_url, safe_url
from screener.store.reading import _reading, history, matches_pack
from screener.store.tables import Screening, ScreeningRead

#: How many companies a "matches several companies" message names.
NAMED = 10

_DATABASE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def open_existing(url: str | None) -> Engine:
    """An engine on the screening database at ``url`` (default: the default database), for reading.

    Raises NotFoundError, naming where it looked and the closest database file beside it, when
    there is none; nothing is created.
    """
    engine = connect_existing(url)
    if engine is not None:
        return engine
    resolved = normalise_url(url or default_url())
    where, hint = safe_url(resolved), ""
    try:
        parsed = make_url(resolved)
    except ArgumentError:
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database)
        where = str(path)
        if not path.parent.is_dir():
            hint = f" (there is no folder {path.parent})"
        else:
            files = sorted(p.name for p in path.parent.iterdir() if p.suffix.lower() in _DATABASE_SUFFIXES)
            hint = did_you_mean(path.name, [f for f in files if f != path.name])
    raise NotFoundError(f"no screening database here: screen a company first, or check --db{hint}", Location(where))


def _where(engine: Engine) -> Location:
    """The database, as a user named it: a SQLite file by its path, any other by its URL (no password)."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        return Location(engine.url.database)
    return Location(safe_url(str(engine.url)))


@dataclass(frozen=True)
class Found:
    rows: list[ScreeningRead]  #: newest first
    partial: bool  #: matched a part of the name or key, not the whole


def company_history(engine: Engine, company: str, pack: str | None = None) -> Found:
    """The stored screenings of the company ``company`` names (under ``pack``, if given), newest first.

    By name, website or key; else by a part of the name or key, when that part names one company.
    Raises NotFoundError when nothing matches (suggesting the closest stored name, website or
    key) or when a part names several companies (naming them).
    """
    where = _where(engine)
    found, partial = history(engine, company), False
    if not found:
        keys = _partial(engine, company)
        if len(keys) > 1:
            named = ", ".join(f"{name} ({key})" for key, name in keys[:NAMED])
            more = f" and {len(keys) - NAMED} more" if len(keys) > NAMED else ""
            raise NotFoundError(
                f"{company!r} is part of {len(keys)} companies' names or keys: {named}{more}; "
                "give the name, website or key",
                where,
            )
        if keys:
            found, partial = history(engine, keys[0][0]), True
    if not found:
        raise NotFoundError(f"no stored screening of {company!r}{_suggestion(engine, company)}", where)
    rows = [r for r in found if pack is None or matches_pack(r, pack)]
    if not rows:
        packs = ", ".join(sorted({f"{r.pack_name}@{r.pack_version}" for r in found}))
        raise NotFoundError(f"no stored screening of {company!r} under pack {pack!r} (it has: {packs})", where)
    return Found(rows, partial)


def _partial(engine: Engine, text: str) -> list[tuple[str, str]]:
    """(key, name) of every company whose name or key contains ``text`` (case-insensitive), by key."""
    needle = text.strip().lower()
    if not needle:
        return []
    query = (
        select(col(Screening.company_key), func.max(col(Screening.company_name)))
        .where(
            or_(
                func.lower(col(Screening.company_name)).contains(needle, autoescape=True),
                func.lower(col(Screening.company_key)).contains(needle, autoescape=True),
            )
        )
        .group_by(col(Screening.company_key))
        .order_by(col(Screening.company_key))
    )
    with _reading(engine), engine.connect() as connection:
        return [(str(key), str(name)) for key, name in connection.execute(query)]


def _suggestion(engine: Engine, text: str) -> str:
    """ "; did you mean …?" over the stored names and keys (a key is the website's domain when there is one)."""
    with _reading(engine), engine.connect() as connection:
        pairs = connection.execute(select(col(Screening.company_name), col(Screening.company_key)).distinct()).all()
    spelled: dict[str, str] = {}
    for name, key in pairs:
        spelled.setdefault(str(name).lower(), str(name))
        spelled.setdefault(str(key).lower(), str(key))
    probe = text.strip().lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
    # As errors.did_you_mean decides, but case-insensitively: 'tinyllama legal' is 'Tinyllama Legal'.
    import difflib  # here: only a company that is not found needs it

    close = difflib.get_close_matches(probe, list(spelled), n=1, cutoff=0.6)
    return f"; did you mean {spelled[close[0]]!r}?" if close else ""
