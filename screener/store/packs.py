"""The packs the database keeps, compiled back from their stored content.

Since migration 0004 the database holds each pack's full content by its hash, so a stored
screening can be read back and computed again with exactly the pack that made it, without the
pack's file: ``screen verify`` does, and so does ``memo --from-db`` for the fields a pack declares.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from screener.errors import Location, StoreError
from screener.profile.sources import Document
from screener.rules.identity import content_hash
from screener.rules.rulebook import Rulebook, compile_document
from screener.store.reading import pack_contents


def stored_rulebook(engine: Engine, pack_hash: str) -> Rulebook | None:
    """The pack of content ``pack_hash``, compiled; None when its content was never stored.

    A stored content whose hash is not ``pack_hash`` is a :class:`StoreError`; a stored pack that
    this release no longer compiles raises the compiler's own error.
    """
    content = pack_contents(engine, [pack_hash]).get(pack_hash)
    if content is None:
        return None
    data = json.loads(content)
    if content_hash(data) != pack_hash:
        raise StoreError(
            f"the stored content of the pack has hash {content_hash(data)[:12]}, not {pack_hash[:12]}",
            Location(f"pack {pack_hash[:12]} (database)"),
        )
    return compile_document(Document(data, f"pack {pack_hash[:12]} (database)"), Path(f"{pack_hash}.yaml"))
