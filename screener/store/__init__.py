"""The screening database: SQLModel tables, SQLite by default, any SQLAlchemy URL (PostgreSQL).

One row per distinct screening (:mod:`screener.store.identity`): company, pack content, profile
content and outcome. Re-screening unchanged input adds no row; new facts, a new pack or a new
outcome add one, so the history is kept. Each pack's full content is stored by hash, so every
stored verdict can be computed again from the database alone. A row holds the result's
per-company part (:mod:`screener.store.packing`); what every result of a pack repeats (its
rules' titles, categories, points, tags) is stored once per pack hash in ``pack_rules``, and the
reads join the two back into the full result. Writes are transactional: a set of screenings is
saved entirely or not at all.

This package's API, used as ``store.connect(...)``, ``store.save(...)``: the modules own
:mod:`~screener.store.tables`, :mod:`~screener.store.database` (URLs, engines, migrations),
:mod:`~screener.store.writing`, :mod:`~screener.store.reading` and :mod:`~screener.store.finding` (what a
read command asks for, never creating anything); :mod:`~screener.store.packing`
and :mod:`~screener.store.stored` encode what is stored.
"""

from __future__ import annotations

from screener.store.database import (
    ENV_URL,
    HEAD_REVISION,
    SQLITE_PAGE_SIZE,
    WAL_LIMIT,
    checkpointing,
    connect,
    connect_existing,
    default_url,
    migrate,
    normalise_url,
    safe_url,
)
from screener.store.finding import Found, company_history, open_existing
from screener.store.packs import stored_rulebook
from screener.store.reading import (
    history,
    latest,
    pack_condition,
    pack_contents,
    pages,
    peers,
    released,
    summaries,
)
from screener.store.tables import PackRulesRow, Screening, ScreeningRead, ScreeningSummary
from screener.store.writing import Encoded, save, save_encoded

__all__ = [
    "ENV_URL",
    "HEAD_REVISION",
    "SQLITE_PAGE_SIZE",
    "WAL_LIMIT",
    "Encoded",
    "Found",
    "PackRulesRow",
    "Screening",
    "ScreeningRead",
    "ScreeningSummary",
    "checkpointing",
    "company_history",
    "connect",
    "connect_existing",
    "default_url",
    "history",
    "latest",
    "migrate",
    "normalise_url",
    "open_existing",
    "pack_condition",
    "pack_contents",
    "pages",
    "peers",
    "released",
    "safe_url",
    "save",
    "save_encoded",
    "stored_rulebook",
    "summaries",
]
