"""The batch job behind ``screen batch``: many records in, a ranked file, a database and rejects out.

One streaming pass over the inputs, in chunks spread over worker processes: every record is
validated; an invalid one goes to the rejects file with every problem; a valid one is screened
(``explain=False``), its chunk saved to the database in one transaction by the worker that
scored it, its memo rendered when it is at or above ``memo_verdict``. The parent keeps the
duplicate index as chunks come back, in input order.

**Duplicate rule.** Records that share a website domain or a normalised name are one company,
kept once; transitively, so a record named like one company at another's domain joins them. The
winner is the record with the most key fields filled in (those the completeness figure counts);
on a tie, the one with the latest ``as_of`` (a record without ``as_of`` is oldest); on a tie, the
one read first. Its company key (:func:`~screener.profile.company_key`) is the company's.

Every record is scored as it comes, before it is known whether a later record of the same
company beats it, so that no record is validated twice. When the pass found duplicates, they
are *settled*: the inputs are read again, each losing record goes to the rejects file naming
the record that won and why, and each winner of a duplicated company is scored again and saved
(a loser may have overwritten its row, whichever worker saved last), its memo rendered again or
a loser's memo removed. A loser whose own key differs (matched on the other identity) has the
row and memo it wrote under that key removed. Losers' rows are left out of the ranked output.
Deal data has few duplicates, so this costs little; without any, nothing is read twice.

Memory is flat in the number of records: the duplicate index lives in a scratch SQLite file,
and ranked rows are sorted in runs of :data:`RUN_ROWS`, spilled to temporary files and merged
with :func:`heapq.merge`. Output files are written atomically: a failed or
interrupted run leaves the previous file (or none). Database rows are upserted on (company,
pack, version), so re-running a batch, also after ``kill -9``, completes it without duplicates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import gc
import heapq
import importlib
import json
import pickle
import signal
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from screener.derived import filled
from screener.errors import ConfigError, EngineError, Location, Problem
from screener.files import atomic_writer
from screener.inputs import RawRecord, Record, estimate_records, expand, read_raw, validate
from screener.mapping import Mapping as ColumnMapping
from screener.mapping import load_mapping
from screener.profile import Profile
from screener.result import Verdict
from screener.rulebook import Rulebook
from screener.screening import Evaluation
from screener.stored import Stored

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")
#: Columns of the ranked output, in order.
COLUMNS = ("rank", "name", "key", "website", "score", "verdict", "coverage", "knockouts", "reasons", "source", "line")
#: Ranked rows kept in memory before a sorted run is spilled to a temporary file.
RUN_ROWS = 50_000

#: progress(phase, records done, records in total (an estimate) or None)
Progress = Callable[[str, int, int | None], None]


class DuplicateRule(enum.StrEnum):
    """When two records of a batch are one company."""

    #: They share the website domain or the normalised name (also through a third record).
    DOMAIN_OR_NAME = "domain-or-name"
    #: They have the same company key: the domain when a record has a website, else the normalised name.
    DOMAIN_ELSE_NAME = "domain-else-name"


@dataclass
class BatchRequest:
    inputs: list[Path]
    on: dt.date
    out: Path | None = None  #: ranked output (.csv, .jsonl, .parquet); None: none
    rejects: Path | None = None  #: rejects file (JSON Lines); None: <out>.rejects.jsonl or ./rejects.jsonl
    database: str | None = None  #: None: do not record; "": the default database
    rules: Path | None = None
    mapping: Path | None = None  #: CSV column mapping; None: the built-in Crunchbase-style one
    duplicates: DuplicateRule = DuplicateRule.DOMAIN_OR_NAME
    rates: Mapping[str, float] = field(default_factory=dict)
    workers: int = 1
    chunk_size: int = 1000
    memos: Path | None = None
    memo_verdict: Verdict = Verdict.STRONG_FIT
    templates: Path | None = None
    template: str = "memo"
    force: bool = False  #: replace memos edited since they were generated (else they are kept, with a warning)
    progress: Progress | None = None


@dataclass
class BatchSummary:
    """What a batch did. ``read == scored + rejected + duplicates`` always holds."""

    read: int = 0
    scored: int = 0
    rejected: int = 0
    duplicates: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    memos: int = 0
    seconds: float = 0.0
    out: Path | None = None
    rejects: Path | None = None
    database: str | None = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Records per second, end to end."""
        return self.read / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(
            out=str(self.out) if self.out else None,
            rejects=str(self.rejects) if self.rejects else None,
            warnings=[str(w) for w in self.warnings],
            rate=round(self.rate, 1),
            seconds=round(self.seconds, 3),
        )
        return data


def rejects_path(request: BatchRequest) -> Path:
    if request.rejects is not None:
        return request.rejects
    if request.out is not None:
        return request.out.with_name(f"{request.out.stem}.rejects.jsonl")
    return Path("rejects.jsonl")


def check_output(path: Path | None) -> None:
    """Refuse an output the batch could not write, before any work is done."""
    if path is None:
        return
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(
            f"unsupported output type {suffix or '(none)'!r}: expected .csv, .jsonl or .parquet", Location(str(path))
        )
    if suffix == ".parquet":
        try:
            importlib.import_module("pyarrow")
        except ImportError:
            raise ConfigError(
                "writing .parquet needs pyarrow, which is not installed (pip install pyarrow); or write .csv or .jsonl",
                Location(str(path)),
            ) from None


def run_batch(request: BatchRequest) -> BatchSummary:
    """Screen every record of the inputs; see the module docstring for the guarantees."""
    from screener.rulebook import load_rulebook

    started = time.perf_counter()
    check_output(request.out)
    if request.workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {request.workers}", Location("--workers"))
    files = expand(request.inputs)
    mapping = (
        load_mapping(request.mapping) if request.mapping or any(f.suffix.lower() == ".csv" for f in files) else None
    )
    rulebook = load_rulebook(request.rules)  # once, here: a bad pack fails before any work
    rejects_file = rejects_path(request)
    summary = BatchSummary(rejects=rejects_file)
    if request.memos is not None:
        from screener.memo import MemoRenderer

        MemoRenderer(request.templates, request.template)  # likewise for a bad template
    database = None
    if request.database is not None:
        from screener import store

        database = store.connect(request.database or None)  # creates/migrates the schema once, before workers
        summary.database = store.safe_url(str(database.url))
    config = _WorkerConfig(
        rulebook, mapping, dict(request.rates), request.on, request.database, request.memos,
        request.memo_verdict, request.templates, request.template, request.force, request.duplicates,
    )  # fmt: skip
    with contextlib.ExitStack() as stack:
        if database is not None:
            from screener import store

            stack.callback(database.dispose)
            stack.enter_context(store.checkpointing(database))  # the workers' commits leave it to this
        pool = stack.enter_context(_Workers(config, request.workers))
        stack.enter_context(_rare_full_collections())  # after the pool: its screener is frozen too
        rejects = stack.enter_context(atomic_writer(rejects_file))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="screener-batch-")))
        index = stack.enter_context(contextlib.closing(_Index(scratch / "index.db")))
        spilled = _score(files, mapping, request, pool, rejects, summary, index, scratch)
        if summary.duplicates:
            _settle(files, mapping, request, pool, rejects, summary, index)
        if request.out is not None:
            _write_ranked(request.out, spilled, index if summary.duplicates else None)
            summary.out = request.out
    summary.seconds = time.perf_counter() - started
    return summary


# --- the duplicate index -----------------------------------------------------------------------


class _Index:
    """What the duplicate rule needs, kept in a scratch SQLite file so memory stays flat.

    Records that share a website domain or a normalised name are one company, transitively: a
    record can join two companies seen apart so far (one by domain, one by name) into one. Each
    such company is a group, numbered by the position of its first record. Per identity
    (``domain:…``, ``name:…``) its group; per group the best record so far (rank, position, place
    in the input, company key, verdict, whether it wrote a memo); per losing record its group, its
    own company key and whether it wrote a memo.
    """

    def __init__(self, path: Path):
        import sqlite3

        self.db = sqlite3.connect(path)
        self.db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE identity (identity TEXT PRIMARY KEY, grp INT) WITHOUT ROWID;
            CREATE TABLE best (grp INTEGER PRIMARY KEY, r1 INT, r2 INT, r3 INT, seq INT, source TEXT, line INT,
                               key TEXT, verdict TEXT, memo INT);
            CREATE TABLE lost (seq INTEGER PRIMARY KEY, grp INT, key TEXT, memo INT);
            CREATE INDEX identity_grp ON identity (grp);  -- merging groups moves their identities
            CREATE INDEX lost_grp ON lost (grp);
            CREATE TEMP TABLE offered (identity TEXT, seq INT);  -- the chunk being offered
            """
        )

    def offer(self, offers: list[_Offer]) -> list[tuple[str, bool]]:
        """Offer scored records in input order; the higher rank keeps the company.

        Returns the verdict of each record that lost, and whether it wrote a memo.
        """
        db = self.db
        # Most records are a company's first: find those whose identities were seen before (in an
        # earlier chunk or earlier in this one) in two statements, take the rest in as new
        # companies at once, and contest only the others, in input order.
        db.executemany("INSERT INTO offered VALUES (?, ?)", [(i, o.seq) for o in offers for i in o.identities])
        seen = {
            seq
            for (seq,) in db.execute(
                """
                SELECT offered.seq FROM offered JOIN identity USING (identity)
                UNION
                SELECT later.seq FROM offered AS later JOIN offered AS earlier
                    ON earlier.identity = later.identity AND earlier.seq < later.seq
                """
            )
        }
        db.execute("DELETE FROM offered")
        losers: list[tuple[str, bool]] = []
        fresh: list[_Offer] = []
        for offer in offers:
            if offer.seq not in seen:
                fresh.append(offer)
                continue
            self._add(fresh)  # an earlier record of this chunk may be the one it meets
            fresh = []
            losers.extend(self._contest(offer))
        self._add(fresh)
        db.commit()
        return losers

    def _add(self, offers: list[_Offer]) -> None:
        """Take in records of companies not seen before."""
        self.db.executemany(
            "INSERT INTO best VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(o.seq, *o.rank, o.seq, o.source, o.line, o.key, o.verdict, o.memo) for o in offers],
        )
        self.db.executemany("INSERT INTO identity VALUES (?, ?)", [(i, o.seq) for o in offers for i in o.identities])

    def _contest(self, offer: _Offer) -> list[tuple[str, bool]]:
        """Settle a record whose identities were seen: returns each loser's verdict and memo."""
        db = self.db
        marks = ", ".join("?" for _ in offer.identities)
        groups = sorted(
            {g for (g,) in db.execute(f"SELECT grp FROM identity WHERE identity IN ({marks})", offer.identities)}  # noqa: S608 (placeholders only)
        )
        group, merged = groups[0], groups[1:]
        losers = []
        for other in merged:  # the record joins companies seen apart: they become one
            r1, r2, r3, seq, source, line, key, verdict, memo = db.execute(
                "SELECT r1, r2, r3, seq, source, line, key, verdict, memo FROM best WHERE grp = ?", (other,)
            ).fetchone()
            db.execute("DELETE FROM best WHERE grp = ?", (other,))
            db.execute("UPDATE identity SET grp = ? WHERE grp = ?", (group, other))
            db.execute("UPDATE lost SET grp = ? WHERE grp = ?", (group, other))
            losers.append(self._meet(group, _Offer(key, (), (r1, r2, r3), seq, source, line, verdict, bool(memo))))
        db.executemany("INSERT OR IGNORE INTO identity VALUES (?, ?)", [(i, group) for i in offer.identities])
        losers.append(self._meet(group, offer))
        return losers

    def _meet(self, group: int, offer: _Offer) -> tuple[str, bool]:
        """The group's best record against ``offer``: the lower rank is lost. Returns its verdict and memo."""
        db = self.db
        held = db.execute("SELECT r1, r2, r3, seq, key, verdict, memo FROM best WHERE grp = ?", (group,)).fetchone()
        if tuple(held[:3]) >= offer.rank:
            loser = (offer.seq, offer.key, offer.verdict, offer.memo)
        else:
            loser = (held[3], held[4], held[5], bool(held[6]))
            db.execute(
                "UPDATE best SET r1 = ?, r2 = ?, r3 = ?, seq = ?, source = ?, line = ?, key = ?, verdict = ?, memo = ? "
                "WHERE grp = ?",
                (*offer.rank, offer.seq, offer.source, offer.line, offer.key, offer.verdict, offer.memo, group),
            )
        db.execute("INSERT INTO lost VALUES (?, ?, ?, ?)", (loser[0], group, loser[1], loser[3]))
        return loser[2], loser[3]

    def settlements(self) -> Iterator[_Settlement]:
        """Every record of a company seen more than once, in input order."""
        rows = self.db.execute(
            """
            SELECT lost.seq, best.key, lost.key, best.source, best.line, lost.memo, 0 FROM lost JOIN best USING (grp)
            UNION ALL
            SELECT best.seq, best.key, best.key, best.source, best.line,
                   EXISTS (SELECT 1 FROM lost WHERE lost.grp = best.grp AND lost.key = best.key AND lost.memo), 1
            FROM best WHERE EXISTS (SELECT 1 FROM lost WHERE lost.grp = best.grp)
            ORDER BY 1
            """
        )
        for seq, key, own_key, source, line, memo, won in rows:
            yield _Settlement(seq, key, own_key, source, line, bool(memo), bool(won))

    def lost(self, seq: int) -> bool:
        """Whether the record at position ``seq`` lost to another record of its company."""
        return self.db.execute("SELECT 1 FROM lost WHERE seq = ?", (seq,)).fetchone() is not None

    def close(self) -> None:
        self.db.close()


class _Settlement(NamedTuple):
    """A record of a company seen more than once, and what the duplicate rule decided."""

    seq: int
    key: str  #: the company key of the record kept
    own_key: str  #: this record's company key (differs from ``key`` when matched on the other identity)
    source: str  #: where the record kept is
    line: int
    memo: bool  #: a loser: whether it wrote a memo; the winner: whether a loser wrote one at its key
    won: bool


class _Offer(NamedTuple):
    """A scored record as the duplicate rule sees it (a named tuple: it is pickled back from workers)."""

    key: str
    identities: tuple[str, ...]
    rank: tuple[int, int, int]  #: key fields filled in, as_of (ordinal, 0 when unknown), -position
    seq: int
    source: str
    line: int
    verdict: str
    memo: bool  #: whether its memo was written


def _record_data(record: Record) -> Any:
    if record.data is not None:
        return _jsonable(record.data)
    return None


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def _problems(record: Record) -> list[dict[str, Any]]:
    return [
        {"location": str(p.location) if p.location else None, "field": p.subject or None, "message": p.message}
        for p in record.problems
    ]


def _write_reject(
    handle: IO[str], source: str, line: int, data: Any, errors: list[dict[str, Any]], **extra: Any
) -> None:
    entry = {"source": source, "line": line, "record": data, "errors": errors, **extra}
    try:
        text = json.dumps(entry, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:  # NaN or Infinity in the record: keep it as the text it was read as
        entry["record"] = json.dumps(data, ensure_ascii=False, default=str)
        text = json.dumps(entry, ensure_ascii=False, default=str)
    handle.write(text)
    handle.write("\n")


# --- the pass: validate, score, save, render memos, spill ranked runs -------------------------------


def _score(
    files: list[Path],
    mapping: ColumnMapping | None,
    request: BatchRequest,
    pool: _Workers,
    rejects: IO[str],
    summary: BatchSummary,
    index: _Index,
    folder: Path,
) -> list[Path]:
    verdicts: Counter[str] = Counter()
    runs: list[Path] = []
    rows: list[Row] = []
    expected = estimate_records(files) if request.progress else 0
    raws = read_raw(files, mapping, summary.warnings.append)
    for scored in pool.map(_score_chunk, _chunks(raws, request.chunk_size)):
        summary.read += len(scored.offers) + len(scored.rejects)
        for source, line, data, problems in scored.rejects:
            summary.rejected += 1
            _write_reject(rejects, source, line, data, problems)
        for offer in scored.offers:
            verdicts[offer.verdict] += 1
        summary.memos += sum(offer.memo for offer in scored.offers)
        summary.warnings.extend(_kept(path) for path in scored.kept)
        for verdict, memo in index.offer(scored.offers):
            verdicts[verdict] -= 1
            summary.memos -= memo
            summary.duplicates += 1
        summary.scored = summary.read - summary.rejected - summary.duplicates
        rows.extend(scored.rows)
        if len(rows) >= RUN_ROWS:
            runs.append(_spill(rows, folder, len(runs)))
            rows = []
        if request.progress:
            request.progress("scoring", summary.read, max(expected, summary.read))
    if rows:
        runs.append(_spill(rows, folder, len(runs)))
    summary.verdicts = {v.value: verdicts.get(v.value, 0) for v in Verdict}
    return runs


def _raw_data(raw: RawRecord) -> Any:
    if raw.kind == "jsonl":
        try:
            return json.loads(raw.payload)
        except ValueError:
            return raw.payload.rstrip("\n")
    if raw.kind == "csv":
        return {k: v for k, v in raw.payload.items() if k is not None}
    return None


#: One ranked output row, without its rank: the values of COLUMNS[1:], then the record's position.
Row = tuple[str, str, str | None, float, str, float, list[str], list[str], str, int, int]


@dataclass(frozen=True, slots=True)
class _Scored:
    rows: list[Row]
    offers: list[_Offer]  #: one per row
    rejects: list[tuple[str, int, Any, list[dict[str, Any]]]]  #: source, line, record, errors
    kept: list[str]  #: memos not replaced because the user edited them


def _score_chunk(raws: list[RawRecord]) -> _Scored:
    state = _state()
    config = state.config
    book = state.screener.rulebook
    rows, offers, saved, rejects, kept = [], [], [], [], []
    for raw in raws:
        record = validate(raw, config.rates, config.mapping)
        profile = record.profile
        if profile is None:
            rejects.append((raw.source, raw.line, _record_data(record), _problems(record)))
            continue
        try:
            stored = state.stored(profile, config.on)
        except EngineError as exc:  # e.g. a value too large for the engine: this record only
            where = str(Location(raw.source, raw.line))
            errors = [{"location": where, "field": p.subject or None, "message": p.message} for p in exc.problems]
            rejects.append((raw.source, raw.line, _raw_data(raw), errors))
            continue
        verdict = stored.verdict.value
        rows.append(
            (stored.name, stored.key, stored.website, stored.score, verdict, stored.coverage, stored.knockouts,
             stored.reasons, raw.source, raw.line, raw.seq)
        )  # fmt: skip
        memo = state.renderer is not None and stored.verdict.at_least(config.memo_verdict)
        if memo:
            edited = _write_memo(state, state.screener.evaluate(profile, config.on))
            if edited is not None:
                kept.append(str(edited))
                memo = False
        as_of = profile.as_of.toordinal() if profile.as_of else 0
        offers.append(
            _Offer(
                stored.key,
                stored.identities if config.duplicates is DuplicateRule.DOMAIN_OR_NAME else (f"key:{stored.key}",),
                (filled(profile), as_of, -raw.seq),
                raw.seq,
                raw.source,
                raw.line,
                verdict,
                memo,
            )
        )
        if state.store is not None:
            saved.append(_encoded(book, config.on, stored, profile))
    if state.store is not None:
        from screener import store

        store.save_encoded(state.store, saved, [state.stored.pack_rules])  # the whole chunk, in one transaction
    return _Scored(rows, offers, rejects, kept)


def _encoded(book: Rulebook, on: dt.date, stored: Stored, profile: Profile) -> Any:
    """The database row of a screening: a ``store.Encoded`` (store is imported only when a database is used)."""
    from screener import store

    return store.Encoded(
        stored.key, stored.name, stored.website, book.name, book.version, book.hash, on, stored.score,
        stored.verdict.value, stored.coverage, orjson.dumps(stored.knockouts), orjson.dumps(stored.matched),
        Profile.__pydantic_serializer__.to_json(profile), stored.details,
    )  # fmt: skip


# --- settling duplicates ---------------------------------------------------------------------------


def _settle(
    files: list[Path],
    mapping: ColumnMapping | None,
    request: BatchRequest,
    pool: _Workers,
    rejects: IO[str],
    summary: BatchSummary,
    index: _Index,
) -> None:
    """Reject the losers naming their winner; score, save and memo the winners again.

    A loser whose own company key differs from the winner's (matched on the other identity) left
    a row and perhaps a memo under its own key: those are removed.
    """
    again = request.database is not None or request.memos is not None

    def work() -> Iterator[_Settling]:
        pending = index.settlements()
        settlement = next(pending, None)
        for raw in read_raw(files, mapping):
            if settlement is None:
                return
            if request.progress and raw.seq % 1000 == 0:
                request.progress("settling duplicates", raw.seq, summary.read)
            if settlement.seq != raw.seq:
                continue
            current, settlement = settlement, next(pending, None)
            if current.won:
                if again:
                    yield _Settling(raw, current.memo)
                continue
            if current.own_key != current.key:
                # Name keys have no dots: both are domains, so the name (perhaps via a third record) joined them.
                across[0] += "." in current.own_key and "." in current.key
                if again:
                    yield _Settling(None, current.memo, current.own_key)
            where = f"{current.source}:{current.line}" if current.line else current.source
            _write_reject(
                rejects, raw.source, raw.line, _raw_data(raw),
                [{"location": f"{raw.source}:{raw.line}" if raw.line else raw.source, "field": None,
                  "message": f"duplicate of company {current.key!r} ({where}): same website domain or same "
                             "normalised name; that record is kept because it has more key fields filled in, "
                             "else a later as_of, else it was read first"}],
                duplicate_of={"source": current.source, "line": current.line, "key": current.key},
            )  # fmt: skip

    across = [0]
    for changed in pool.map(_settle_chunk, _chunks(work(), request.chunk_size)):
        summary.warnings.extend(changed)
    if across[0]:
        summary.warnings.append(
            Problem(
                f"{across[0]} record(s) at one website domain were taken for duplicates of a company at another, "
                "because they share its normalised name (directly or through another record); see the rejects "
                "file. If different websites mean different companies in this data, run with "
                "--duplicates domain-else-name",
                Location(str(rejects_path(request))),
                level="warning",
            )
        )


class _Settling(NamedTuple):
    """Work for settling: a winner to score, save and memo again, or what a loser left under its own key."""

    raw: RawRecord | None  #: the winner's record; None: a loser's leftovers to remove
    memo: bool  #: a winner: whether a loser wrote a memo at its key; a loser: whether it wrote one
    own_key: str | None = None  #: a loser's own company key


def _settle_chunk(work: list[_Settling]) -> list[Problem]:
    """Score and save again the winners of duplicated companies, rewrite or remove their memos; remove
    what losers left under their own keys. The chunk's database changes are one transaction."""
    state = _state()
    config = state.config
    book = state.screener.rulebook
    saved, removed, changed = [], [], []
    for raw, stale_memo, own_key in work:
        if raw is None:
            assert own_key is not None
            removed.append((own_key, book.name, book.version))
            if stale_memo:
                changed.extend(_remove_memo(state, own_key))
            continue
        record = validate(raw, config.rates, config.mapping)
        profile = record.profile
        try:
            stored = state.stored(profile, config.on) if profile is not None else None
        except EngineError:
            stored = None
        if profile is None or stored is None:
            changed.append(
                Problem(
                    "this record changed while the batch ran and no longer screens; re-run the batch",
                    Location(raw.source, raw.line),
                    level="warning",
                )
            )
            continue
        if state.renderer is not None and stored.verdict.at_least(config.memo_verdict):
            if stale_memo:
                edited = _write_memo(state, state.screener.evaluate(profile, config.on))
                if edited is not None:
                    changed.append(_kept(edited))
        elif stale_memo:
            changed.extend(_remove_memo(state, stored.key))
        if state.store is not None:
            saved.append(_encoded(book, config.on, stored, profile))
    if state.store is not None:
        from screener import store

        store.save_encoded(state.store, saved, [state.stored.pack_rules], remove=removed)
    return changed


def memo_path(state: _WorkerState, key: str) -> Path:
    """Where a batch memo goes: named after the company key (``memo.files.key_stem``), which is unique
    in a batch (each company is kept once) and stable across runs."""
    from screener.files import safe_child
    from screener.memo.files import key_stem

    assert state.renderer is not None and state.config.memos is not None
    return safe_child(state.config.memos, key_stem(key), state.renderer.suffix, dots=True)


def _remove_memo(state: _WorkerState, key: str) -> list[Problem]:
    """Remove company ``key``'s batch memo, unless edited since (then keep it and warn) or stamped for another."""
    from screener.memo import files

    if state.renderer is None or state.config.memos is None:
        return []
    stale = memo_path(state, key)
    existing = files.inspect(stale)
    if existing.state is files.FileState.ABSENT or existing.company not in (key, None):
        return []
    if existing.state is files.FileState.GENERATED or state.config.force:
        stale.unlink(missing_ok=True)
        return []
    return [_kept(stale)]


def _write_memo(state: _WorkerState, evaluation: Evaluation) -> Path | None:
    """Write a company's memo; returns its path instead when it was edited and is kept."""
    from screener.memo import MemoContext, files

    assert state.renderer is not None and state.config.memos is not None
    result = state.screener.result(evaluation, explain=True)
    path = memo_path(state, result.company.key)
    if not state.config.force and not files.replaceable(path):
        return path
    context = MemoContext.build(result, evaluation.profile, evaluation.derived.model_dump(mode="json"))
    files.write(path, state.renderer.render(context), result.company.key)
    return None


def _kept(path: Path | str) -> Problem:
    return Problem(
        "memo edited since Screener generated it (or not written by Screener); kept (use --force to replace it)",
        Location(str(path)),
        level="warning",
    )


# --- ranked output: sorted runs, merged -----------------------------------------------------------


def _order(row: Row) -> tuple[float, str]:
    return (-row[3], row[1])


#: Rows pickled together in a spilled run: one pickle call per row cost more than sorting them.
SPILL_BLOCK = 1000


def _spill(rows: list[Row], folder: Path, number: int) -> Path:
    path = folder / f"run-{number:05d}.pickle"
    with path.open("wb") as handle:
        for block in _chunks(sorted(rows, key=_order), SPILL_BLOCK):
            pickle.dump(block, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read_run(path: Path) -> Iterator[Row]:
    with path.open("rb") as handle:
        while True:
            try:
                yield from pickle.load(handle)  # noqa: S301 (our own temporary file)
            except EOFError:
                return


def _ranked(runs: list[Path], index: _Index | None) -> Iterator[tuple[Any, ...]]:
    """Output rows with their rank (the values of COLUMNS), best first; with an index, only winners."""
    merged: Iterable[Row] = heapq.merge(*(_read_run(p) for p in runs), key=_order)
    if index is not None:
        merged = (row for row in merged if not index.lost(row[10]))
    for rank, row in enumerate(merged, start=1):
        yield (rank, *row[:10])


def _write_ranked(path: Path, runs: list[Path], index: _Index | None) -> None:
    suffix = path.suffix.lower()
    rows = _ranked(runs, index)
    if suffix == ".parquet":
        _write_parquet(path, (dict(zip(COLUMNS, row, strict=True)) for row in rows))
        return
    with atomic_writer(path, newline="") as handle:
        if suffix == ".jsonl":
            for row in rows:
                handle.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
                handle.write("\n")
        else:
            import csv

            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for rank, name, key, website, score, verdict, coverage, knockouts, reasons, source, line in rows:
                writer.writerow(
                    [rank, _cell(name), _cell(key), _cell(website), score, verdict, coverage, "; ".join(knockouts),
                     "; ".join(reasons), _cell(source), line]
                )  # fmt: skip


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (company names come from the input)."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def _write_parquet(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    pa = importlib.import_module("pyarrow")
    pq = importlib.import_module("pyarrow.parquet")

    schema = pa.schema(
        [("rank", pa.int64()), ("name", pa.string()), ("key", pa.string()), ("website", pa.string()),
         ("score", pa.float64()), ("verdict", pa.string()), ("coverage", pa.float64()),
         ("knockouts", pa.list_(pa.string())), ("reasons", pa.list_(pa.string())), ("source", pa.string()),
         ("line", pa.int64())]
    )  # fmt: skip
    with atomic_writer(path, "wb") as handle:
        writer = pq.ParquetWriter(handle, schema)
        try:
            for batch in _chunks(rows, RUN_ROWS):
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        finally:
            writer.close()


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- garbage collection ---------------------------------------------------------------------------


#: Collect the oldest generation only after this many collections of the middle one (CPython's
#: default is 10).
FULL_COLLECTION_EVERY = 100


@contextlib.contextmanager
def _rare_full_collections() -> Iterator[None]:
    """Keep CPython's full collections from dominating a batch; restore the settings afterwards.

    A batch allocates hundreds of short-lived containers per record, and every full collection
    walks every live object: the rule pack, the SQLAlchemy and pydantic machinery and the ranked
    rows waiting to be spilled. Measured on 20,000 profiles with one worker, 36 full collections
    took a third of the run. Objects alive before the batch starts are frozen (never walked
    again) and full collections are made ten times rarer; the young generations, where a
    record's own garbage dies, are collected as before, so memory stays flat.
    """
    thresholds = _collect_rarely()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _collect_rarely() -> tuple[int, int, int]:
    """Freeze what is alive and make full collections rarer; returns the previous thresholds."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(thresholds[0], thresholds[1], FULL_COLLECTION_EVERY)
    return thresholds


# --- workers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WorkerConfig:
    rulebook: Rulebook  #: workers receive it compiled (pickled), rather than each parsing the YAML again
    mapping: ColumnMapping | None
    rates: dict[str, float]
    on: dt.date
    database: str | None
    memos: Path | None
    memo_verdict: Verdict
    templates: Path | None
    template: str
    force: bool
    duplicates: DuplicateRule


@dataclass
class _WorkerState:
    config: _WorkerConfig
    screener: Any  #: screener.screening.Screener, built once per worker
    stored: Any  #: screener.stored.StoredResults over that screener
    store: Any = None  #: a SQLAlchemy engine, or None
    renderer: Any = None  #: a MemoRenderer, or None


_STATE: _WorkerState | None = None


def _init_worker(config: _WorkerConfig, ignore_interrupt: bool = True) -> None:
    """Build the worker's own screener (and database engine, memo renderer) once."""
    global _STATE
    from screener.screening import Screener
    from screener.stored import StoredResults

    if ignore_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    screener = Screener(config.rulebook)
    state = _WorkerState(config, screener, StoredResults(screener))
    if config.database is not None:
        from screener import store

        state.store = store.connect(config.database or None, autocheckpoint=False)
    if config.memos is not None:
        from screener.memo import MemoRenderer

        state.renderer = MemoRenderer(config.templates, config.template)
    _STATE = state
    if ignore_interrupt:  # a pool process lives for one batch: nothing to restore
        _collect_rarely()


def _close_worker() -> None:
    global _STATE
    if _STATE is not None:
        _STATE.screener.close()
        if _STATE.store is not None:
            _STATE.store.dispose()
        _STATE = None


def _state() -> _WorkerState:
    assert _STATE is not None, "worker not initialised"
    return _STATE


class _Workers:
    """Runs chunk functions in ``n`` processes (or in this one when ``n`` is 1), results in order.

    At most ``2 * n`` chunks are in flight, so reading never runs ahead of scoring.
    """

    def __init__(self, config: _WorkerConfig, n: int):
        self.config, self.n = config, n
        self.pool: Any = None

    def __enter__(self) -> _Workers:
        if self.n == 1:
            _init_worker(self.config, ignore_interrupt=False)
        else:
            import multiprocessing

            # spawn, not fork: a forked child would inherit the parent's engine handles and locks.
            context = multiprocessing.get_context("spawn")
            self.pool = context.Pool(self.n, initializer=_init_worker, initargs=(self.config,))
        return self

    def map(self, func: Callable[[list[Any]], Any], chunks: Iterable[list[Any]]) -> Iterator[Any]:
        if self.pool is None:
            for chunk in chunks:
                yield func(chunk)
            return
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(self.pool.apply_async(func, (chunk,)))
            if len(pending) >= 2 * self.n:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self.pool is None:
            _close_worker()
            return
        if exc_type is None:
            self.pool.close()
        else:
            self.pool.terminate()
        self.pool.join()
