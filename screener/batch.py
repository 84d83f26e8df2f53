"""The batch job behind ``screen batch``: many records in, a ranked file, a database and rejects out.

One streaming pass over the inputs, in chunks spread over worker processes: every record is
validated; an invalid one goes to the rejects file with every problem; a valid one is screened
(``explain=False``), its chunk saved to the database in one transaction by the worker that
scored it, its memo rendered when it is at or above ``memo_verdict``. The parent keeps the
duplicate index as chunks come back, in input order.

**Duplicate rule.** Records with the same :func:`~screener.profile.company_key` (website
domain, else normalised name) are one company, kept once. The winner is the record with the
most key fields filled in (those the completeness figure counts); on a tie, the one with the
latest ``as_of`` (a record without ``as_of`` is oldest); on a tie, the one read first.

Every record is scored as it comes, before it is known whether a later record of the same
company beats it, so that no record is validated twice. When the pass found duplicates, they
are *settled*: the inputs are read again, each losing record goes to the rejects file naming
the record that won and why, and each winner of a duplicated company is scored again and saved
(a loser may have overwritten its row, whichever worker saved last), its memo rendered again or
a loser's memo removed. Losers' rows are left out of the ranked output. Deal data has few
duplicates, so this costs little; without any, nothing is read twice.

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
from screener.inputs import RawRecord, Record, expand, read_raw, validate
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

#: progress(phase, records done, records in total or None)
Progress = Callable[[str, int, int | None], None]


@dataclass
class BatchRequest:
    inputs: list[Path]
    on: dt.date
    out: Path | None = None  #: ranked output (.csv, .jsonl, .parquet); None: none
    rejects: Path | None = None  #: rejects file (JSON Lines); None: <out>.rejects.jsonl or ./rejects.jsonl
    database: str | None = None  #: None: do not record; "": the default database
    rules: Path | None = None
    mapping: Path | None = None  #: CSV column mapping; None: the built-in Crunchbase-style one
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
        request.memo_verdict, request.templates, request.template, request.force,
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

    Per company key the best record so far: its rank, position, place in the input, verdict and
    whether it wrote a memo. Per position, the records that lost to another of their company;
    per duplicated company, whether a loser wrote a memo (then the memo file is the winner's to
    write again, or to remove).
    """

    def __init__(self, path: Path):
        import sqlite3

        self.db = sqlite3.connect(path)
        self.db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE best (key TEXT PRIMARY KEY, r1 INT, r2 INT, r3 INT, seq INT, source TEXT, line INT,
                               verdict TEXT, memo INT);
            CREATE TABLE lost (seq INTEGER PRIMARY KEY, key TEXT);
            CREATE TABLE duplicated (key TEXT PRIMARY KEY, memo INT);  -- memo: a loser wrote one
            CREATE TEMP TABLE offered (key TEXT, seq INT);  -- the chunk being offered
            """
        )

    def offer(self, offers: list[_Offer]) -> list[tuple[str, bool]]:
        """Offer scored records in input order; the higher rank keeps the key.

        Returns the verdict of each record that lost, and whether it wrote a memo.
        """
        db = self.db
        # Most records are a company's first: insert the chunk at once, then settle only the
        # records whose key was already held (by an earlier chunk or earlier in this one), in
        # input order, as if each had been offered alone.
        db.executemany(
            "INSERT OR IGNORE INTO best VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(o.key, *o.rank, o.seq, o.source, o.line, o.verdict, o.memo) for o in offers],
        )
        db.executemany("INSERT INTO offered VALUES (?, ?)", [(o.key, o.seq) for o in offers])
        held_elsewhere = {
            seq
            for (seq,) in db.execute(
                "SELECT offered.seq FROM offered JOIN best ON best.key = offered.key WHERE best.seq != offered.seq"
            )
        }
        db.execute("DELETE FROM offered")
        losers: list[tuple[str, bool]] = []
        for offer in offers:
            if offer.seq in held_elsewhere:
                losers.append(self._contest(offer))
        db.commit()
        return losers

    def _contest(self, offer: _Offer) -> tuple[str, bool]:
        """Settle a record whose company is already held: returns the loser's verdict and memo."""
        db, key = self.db, offer.key
        held = db.execute("SELECT r1, r2, r3, seq, verdict, memo FROM best WHERE key = ?", (key,)).fetchone()
        if tuple(held[:3]) >= offer.rank:
            loser_seq, verdict, memo = offer.seq, offer.verdict, offer.memo
        else:
            loser_seq, verdict, memo = held[3], held[4], bool(held[5])
            db.execute(
                "INSERT OR REPLACE INTO best VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, *offer.rank, offer.seq, offer.source, offer.line, offer.verdict, offer.memo),
            )
        db.execute("INSERT INTO lost VALUES (?, ?)", (loser_seq, key))
        db.execute(
            "INSERT INTO duplicated VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET memo = memo OR excluded.memo",
            (key, memo),
        )
        return verdict, memo

    def settlements(self) -> Iterator[tuple[int, str, bool]]:
        """(position, key, is the winner) of every record of a duplicated company, in input order."""
        yield from self.db.execute(
            """
            SELECT seq, key, 0 FROM lost
            UNION ALL
            SELECT best.seq, best.key, 1 FROM best JOIN duplicated ON duplicated.key = best.key
            ORDER BY 1
            """
        )

    def stale_memo(self, key: str) -> bool:
        """Whether a record that lost for ``key`` wrote a memo (now to be rewritten or removed)."""
        row = self.db.execute("SELECT memo FROM duplicated WHERE key = ?", (key,)).fetchone()
        return bool(row and row[0])

    def winner(self, key: str) -> tuple[str, int]:
        """Where the record kept for ``key`` is: source and line."""
        source, line = self.db.execute("SELECT source, line FROM best WHERE key = ?", (key,)).fetchone()
        return source, line

    def close(self) -> None:
        self.db.close()


class _Offer(NamedTuple):
    """A scored record as the duplicate rule sees it (a named tuple: it is pickled back from workers)."""

    key: str
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
            request.progress("scoring", summary.read, None)
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


#: One ranked output row, without its rank: the values of COLUMNS[1:].
Row = tuple[str, str, str | None, float, str, float, list[str], list[str], str, int]


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
             stored.reasons, raw.source, raw.line)
        )  # fmt: skip
        memo = state.renderer is not None and stored.verdict.at_least(config.memo_verdict)
        if memo:
            edited = _write_memo(state, state.screener.evaluate(profile, config.on))
            if edited is not None:
                kept.append(str(edited))
                memo = False
        as_of = profile.as_of.toordinal() if profile.as_of else 0
        offers.append(
            _Offer(stored.key, (filled(profile), as_of, -raw.seq), raw.seq, raw.source, raw.line, verdict, memo)
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
    """Reject the losers naming their winner; score, save and memo the winners again."""
    again = request.database is not None or request.memos is not None

    def winners() -> Iterator[tuple[RawRecord, bool]]:
        pending = index.settlements()
        settlement = next(pending, None)
        for raw in read_raw(files, mapping):
            if settlement is None:
                return
            if settlement[0] != raw.seq:
                continue
            _, key, won = settlement
            settlement = next(pending, None)
            if won:
                if again:
                    yield raw, index.stale_memo(key)
                continue
            source, line = index.winner(key)
            _write_reject(
                rejects, raw.source, raw.line, _raw_data(raw),
                [{"location": f"{raw.source}:{raw.line}" if raw.line else raw.source, "field": None,
                  "message": f"duplicate of company {key!r} ({source}{f':{line}' if line else ''}), which is kept "
                             "because it has more key fields filled in, else a later as_of, else it was read first"}],
                duplicate_of={"source": source, "line": line, "key": key},
            )  # fmt: skip

    for changed in pool.map(_settle_chunk, _chunks(winners(), request.chunk_size)):
        summary.warnings.extend(changed)


def _settle_chunk(winners: list[tuple[RawRecord, bool]]) -> list[Problem]:
    """Score and save again the winners of duplicated companies; rewrite or remove their memos."""
    from screener.files import safe_child

    state = _state()
    config = state.config
    book = state.screener.rulebook
    saved, changed = [], []
    for raw, stale_memo in winners:
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
        elif stale_memo and state.renderer is not None and state.config.memos is not None:
            from screener.memo import files

            stale = safe_child(state.config.memos, stored.key, state.renderer.suffix)
            if config.force or files.replaceable(stale):
                stale.unlink(missing_ok=True)
            else:
                changed.append(_kept(stale))
        if state.store is not None:
            saved.append(_encoded(book, config.on, stored, profile))
    if state.store is not None:
        from screener import store

        store.save_encoded(state.store, saved, [state.stored.pack_rules])
    return changed


def _write_memo(state: _WorkerState, evaluation: Evaluation) -> Path | None:
    """Write a company's memo; returns its path instead when it was edited and is kept."""
    from screener.files import safe_child
    from screener.memo import MemoContext, files

    assert state.renderer is not None and state.config.memos is not None
    result = state.screener.result(evaluation, explain=True)
    # Named after the company key: unique in a batch (each company is kept once) and stable across runs.
    path = safe_child(state.config.memos, result.company.key, state.renderer.suffix)
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
        merged = (row for row in merged if index.winner(row[1]) == (row[8], row[9]))
    for rank, row in enumerate(merged, start=1):
        yield (rank, *row)


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
