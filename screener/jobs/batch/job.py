"""The batch job behind ``screen batch``: many records in, a ranked file, a database and rejects out.

One streaming pass over the inputs, in chunks spread over worker processes: every record is
validated; an invalid one goes to the rejects file with every problem; a valid one is screened
(``explain=False``), its chunk saved to the database in one transaction by the worker that
scored it, its memo rendered when it is at or above ``memo_verdict``. The parent keeps the
duplicate index as chunks come back, in input order.

**Duplicate rule.** Records with the same company key are one company, kept once: the same
website domain, or for records without a website the same normalised name, so records at two
different domains are never one company (:class:`~screener.jobs.batch.request.DuplicateRule`).
Asked for (``domain-or-name``), records that share a domain or a normalised name are one
company, transitively, so a record named like one company at another's domain joins them. The
winner is the record with the most key fields filled in (those the completeness figure counts);
on a tie, the one with the latest ``as_of`` (a record without ``as_of`` is oldest); on a tie, the
one read first. Its company key (:func:`~screener.profile.model.company_key`) is the company's.

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

**Failures and signals.** Ctrl-C or SIGTERM stops the batch between records
(:func:`~screener.jobs.batch.workers.stopping_on_signals`), a worker that dies fails it instead
of stalling it, and either way the rejects of every record read are kept and the caller's
:class:`BatchSummary` holds the counts so far. Before anything is read, outputs that would
replace an input (or be read as one next time) are refused, files an earlier batch wrote into
an input folder are skipped, the memo folder is checked, and what killed runs left behind is
removed (:func:`screener.files.remove_stale`).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from screener.errors import ConfigError, InputError, Location, Problem, UsageError
from screener.files import Staged, remove_stale, scratch_folder
from screener.jobs.batch.duplicates import Index
from screener.jobs.batch.ranked import count_warnings, write_ranked
from screener.jobs.batch.request import BatchRequest, BatchSummary, rejects_path
from screener.jobs.batch.scoring import score_pass
from screener.jobs.batch.settling import settle
from screener.jobs.batch.workers import (
    WorkerConfig,
    Workers,
    machine_workers,
    rare_full_collections,
    stopping_on_signals,
)
from screener.jobs.inputs import estimate_records, expand, header_problems
from screener.jobs.mapping import lacks_note, lacks_warning, load_mapping, unfilled

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")


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
                "writing .parquet needs pyarrow, which is not installed: pip install 'screener[parquet]'; "
                "or write .csv or .jsonl",
                Location(str(path)),
            ) from None


def check_outputs(request: BatchRequest, files: list[Path]) -> None:
    """Refuse outputs that would replace an input, be read as one by the next run, or replace each other."""
    outputs = {"--out": request.out, "--rejects": rejects_path(request)}
    inputs = [(p, p.resolve()) for p in request.inputs]
    read = {f.resolve() for f in files}
    problems = []
    for option, path in outputs.items():
        if path is None:
            continue
        target = path.resolve()
        if target in read or any(target == resolved for _, resolved in inputs):
            problems.append(Problem(f"{option} {path} is an input of this batch; writing it would replace the input"))
            continue
        folder = next(
            (given for given, resolved in inputs if resolved.is_dir() and target.is_relative_to(resolved)), None
        )
        if folder is not None:
            problems.append(
                Problem(
                    f"{option} {path} is inside the input folder {folder}; the next batch over that folder would "
                    "read it as input: write it elsewhere"
                )
            )
    if request.out is not None and request.out.resolve() == rejects_path(request).resolve():
        problems.append(Problem(f"--out and --rejects name the same file ({request.out}); give them different names"))
    UsageError.collect(problems)


def run_batch(request: BatchRequest, summary: BatchSummary | None = None) -> BatchSummary:
    """Screen every record of the inputs; see the module docstring for the guarantees.

    ``summary``: filled in as the batch goes, so that a caller still has the counts so far when
    the batch fails or is stopped by a signal (:class:`~screener.errors.Stopped`).
    """
    from screener.rules.rulebook import load_rulebook

    started = time.perf_counter()
    check_output(request.out)
    workers = machine_workers() if request.workers is None else request.workers
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}", Location("--workers"))
    files = expand(request.inputs)
    check_outputs(request, files)
    files, earlier = own_outputs(request, files)
    if request.workers is None and workers > 1 and estimate_records(files, request.chunk_size) <= request.chunk_size:
        workers = 1  # one chunk: starting worker processes would cost more than they save
    rulebook = load_rulebook(request.rules)  # once, here: a bad pack fails before any work
    csv_inputs = any(f.suffix.lower() == ".csv" for f in files)
    mapping = (
        load_mapping(request.mapping, rulebook.schema, dict(request.rates)) if request.mapping or csv_inputs else None
    )
    InputError.collect(header_problems(files, mapping))  # a file every row of which would be misread
    rejects_file = rejects_path(request)
    summary = summary if summary is not None else BatchSummary()
    summary.workers = workers
    summary.rejects = rejects_file
    if earlier:
        summary.warnings.append(
            Problem(
                f"{len(earlier)} file(s) in the input folders were written by an earlier batch (ranked output or "
                f"rejects) and are not read: {', '.join(map(str, earlier[:5]))}{' …' if len(earlier) > 5 else ''}",
                level="warning",
            )
        )
    lacking = ""
    if mapping is not None and csv_inputs:
        missing = unfilled(mapping, rulebook)
        if missing:
            lacking = lacks_note(mapping, missing)
            summary.warnings.append(lacks_warning(mapping, rulebook, missing))
    if request.memos is not None:
        from screener.memo import MemoRenderer
        from screener.memo.files import check_folder

        MemoRenderer(request.templates, request.template)  # likewise for a bad template
        check_folder(request.memos)  # and for a folder some memos could not be written to
    database = None
    if request.database is not None:
        from screener import store

        database = store.connect(request.database or None)  # creates/migrates the schema once, before workers
        summary.database = store.safe_url(str(database.url))
        rulebook = store.released(database, rulebook)
    warning = rulebook.dev_warning()
    if warning is not None:
        summary.warnings.append(warning)
    config = WorkerConfig(
        rulebook, mapping, dict(request.rates), request.on, request.database, request.memos,
        request.memo_verdict, request.templates, request.template, request.force, request.duplicates, request.strict,
        lacking, request.full,
    )  # fmt: skip
    # What a run killed with kill -9 left behind: temporary outputs and memos, scratch folders.
    for target in (request.out, rejects_file):
        if target is not None:
            remove_stale(target.parent, target.name)
    if request.memos is not None:
        remove_stale(request.memos)
    with contextlib.ExitStack() as stack:
        stack.enter_context(stopping_on_signals())
        if database is not None:
            from screener import store

            stack.callback(database.dispose)
            stack.enter_context(store.checkpointing(database))  # the workers' commits leave it to this
        pool = stack.enter_context(Workers(config, workers))
        stack.enter_context(rare_full_collections())  # after the pool: its screener is frozen too
        rejects = stack.enter_context(_rejects_file(rejects_file, summary))
        scratch = stack.enter_context(scratch_folder(SCRATCH_PREFIX))
        index = stack.enter_context(contextlib.closing(Index(scratch / "index.db")))
        spilled = score_pass(files, mapping, request, pool, rejects, summary, index, scratch)
        if summary.duplicates:
            settle(files, mapping, request, pool, rejects, summary, index)
            if summary.warned:  # the pass counted the losers too
                summary.warned, counts = count_warnings(spilled, index)
                summary.data_warnings = {k: counts[k] for k in summary.data_warnings if k in counts}
        if request.out is not None:
            write_ranked(request.out, spilled, index if summary.duplicates else None)
            summary.out = request.out
    summary.seconds = time.perf_counter() - started
    return summary


@contextlib.contextmanager
def _rejects_file(path: Path, summary: BatchSummary) -> Iterator[IO[str]]:
    """The rejects file, written atomically; when the batch fails or is stopped after reading
    records, it still replaces the previous one with the rejects of every record read so far.
    A batch that fails before any record was read leaves the previous one alone."""
    staged = Staged(path)
    try:
        yield staged.handle  # type: ignore[misc]
    except BaseException:
        if summary.read and not staged.handle.failed:
            with contextlib.suppress(ConfigError):
                staged.commit()
        staged.discard()
        raise
    staged.commit()


#: The prefix of a batch's scratch folder in the temporary folder (the duplicate index, sorted runs).
SCRATCH_PREFIX = "screener-batch-"


def own_outputs(request: BatchRequest, files: list[Path]) -> tuple[list[Path], list[Path]]:
    """The inputs to read, and the files found in input folders that a batch wrote (not read).

    A file named on the command line is read whatever it holds.
    """
    named = {p.resolve() for p in request.inputs if not p.is_dir()}
    keep, skipped = [], []
    for file in files:
        if file.resolve() not in named and is_batch_output(file):
            skipped.append(file)
        else:
            keep.append(file)
    return keep, skipped


def is_batch_output(path: Path) -> bool:
    """Whether a JSON Lines or CSV file is a batch's ranked output or rejects file, by its first record."""
    suffix = path.suffix.lower()
    if suffix not in {".jsonl", ".csv"}:
        return False
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline(64 * 1024)
    except OSError:
        return False
    if suffix == ".csv":
        return set(first.strip().split(",")) >= _RANKED
    try:
        data = json.loads(first)
    except ValueError:
        return False
    return isinstance(data, dict) and (set(data) >= _RANKED or set(data) >= _REJECTED)


_RANKED = {"rank", "key", "score", "verdict", "source", "line"}
_REJECTED = {"source", "line", "record", "errors"}
