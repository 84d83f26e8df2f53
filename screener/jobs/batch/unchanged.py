"""Which records of a batch are unchanged since their stored screening, and what they give without being scored.

A nightly export differs from the last one in a few records; the rest would be validated and
scored again only to come out byte-identical. A record is skipped when, and only when, its
stored screening would come out the same:

- **the same record**: the sha256 of its content and of everything validating it reads
  (:class:`Recognizer`): the code (this package's version and source, the versions of pydantic
  and durable-rules), the FX rates, ``--strict``, for a CSV row the column mapping's validated
  content, then the record itself: a JSON Lines line's text, a CSV row's cells under their header
  names. The pack is compared by its content hash (which covers its declared fields). Profile
  files (YAML, JSON) are always scored: validating one reads the file itself, after the batch
  would have hashed it;
- **the same pack content**, and a row still as the batch wrote it (``store.records.recall``);
- **a screening date inside the window** over which the screening comes out the same
  (:class:`~screener.screening.validity.Steadiness`), remembered with it. The window computed
  at any date inside it is the same window, so it is remembered once;
- **nothing else that only scoring gives**: a record whose memo would be drafted is scored (the
  memo shows the screening date), and one whose validation left CSV cells out is not remembered
  (its notes and the summary's counts come from validating it).

A skipped record gives the batch what scoring it would: its ranked row (the record's current
source and line), its offer to the duplicate rule (so duplicates arriving or leaving settle as
they would), its verdict and data warnings for the summary, and its row records the new
screening date (``store.records.refresh``). ``--full`` scores every record (and remembers it).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from screener.jobs.batch.duplicates import Offer
from screener.jobs.batch.ranked import Row
from screener.jobs.batch.request import DuplicateRule
from screener.jobs.batch.workers import WorkerConfig
from screener.jobs.inputs import RawRecord
from screener.profile.derived import filled
from screener.profile.model import Profile
from screener.rules.rulebook import Rulebook
from screener.screening.validity import Steadiness
from screener.store.stored import Stored

#: Bumped when what a record's hash covers, or the ranked part remembered, changes.
FORMAT = b"screener-batch-record-1"


@functools.cache
def code_identity() -> bytes:
    """What the code that validates and scores is: the sha256 of this package's Python source and the
    versions of the libraries that decide (a development checkout edited since is other code)."""
    import importlib.metadata

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[2]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for library in ("screener", "pydantic", "pydantic-core", "durable-rules", "orjson"):
        try:
            version = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{library}={version}\0".encode())
    return digest.digest()


class Recognizer:
    """Content hashes of a batch's records (see the module docstring), and the windows of its screenings."""

    def __init__(self, config: WorkerConfig):
        context = orjson.dumps([sorted(config.rates.items()), config.strict])
        base = hashlib.sha256(FORMAT + b"\0" + code_identity() + context)
        self._jsonl = base.copy()
        self._jsonl.update(b"\0jsonl\0")
        self._csv = base.copy()
        mapping = config.mapping.model_dump_json().encode() if config.mapping is not None else b"null"
        self._csv.update(b"\0csv\0" + hashlib.sha256(mapping).digest())
        self.steadiness = Steadiness(config.rulebook)
        self.book: Rulebook = config.rulebook

    def record_hash(self, raw: RawRecord) -> str | None:
        """The record's content hash; None for a record that is always scored."""
        if raw.kind == "jsonl":
            digest = self._jsonl.copy()
            digest.update(raw.payload.encode("utf-8", "surrogatepass"))
            return digest.hexdigest()
        if raw.kind == "csv":
            try:
                cells = orjson.dumps([[column, cell] for column, cell in raw.payload.items()])
            except TypeError:  # a lone surrogate from bytes that are not text: the row is rejected anyway
                return None
            digest = self._csv.copy()
            digest.update(cells)
            return digest.hexdigest()
        return None

    def window(self, profile: Profile, on: dt.date, stored: Stored) -> tuple[dt.date, dt.date]:
        found = self.steadiness.window(profile, on, stored.checks)
        return found.first, found.last


def ranked_part(stored: Stored, profile: Profile) -> list[Any]:
    """What the batch needs of a scored record to skip it next time: its ranked row's values, its
    identities and its rank for the duplicate rule (key fields filled in, ``as_of``)."""
    span = stored.range
    return [
        stored.name, stored.key, stored.website, stored.score, stored.verdict.value, stored.coverage,
        stored.knockouts, stored.reasons, stored.checks, list(stored.identities), filled(profile),
        profile.as_of.toordinal() if profile.as_of else 0, span.worst, span.best,
        not (span.worst_verdict is span.best_verdict is stored.verdict),
    ]  # fmt: skip


#: How many values :func:`ranked_part` keeps; a record remembered with fewer (before the score range
#: joined the ranked row) is scored again.
RANKED_VALUES = 15


def skipped(ranked: Sequence[Any], raw: RawRecord, config: WorkerConfig, content: str) -> tuple[Row, Offer]:
    """The ranked row and the duplicate rule's offer of a skipped record, as scoring it gives them."""
    (name, key, website, score, verdict, coverage, knockouts, reasons, checks, identities, complete, as_of, worst,
     best, could_change) = ranked  # fmt: skip
    notes = [config.lacking] if config.lacking and raw.kind == "csv" and verdict == "review" else []
    row: Row = (name, key, website, score, verdict, coverage, knockouts, reasons, checks, raw.source, raw.line,
                raw.seq, notes, worst, best, could_change)  # fmt: skip
    offer = Offer(
        key,
        tuple(identities) if config.duplicates is DuplicateRule.DOMAIN_OR_NAME else (f"key:{key}",),
        (complete, as_of, -raw.seq),
        raw.seq,
        raw.source,
        raw.line,
        verdict,
        False,
        content,
    )
    return row, offer
