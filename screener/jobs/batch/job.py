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
"""

from __future__ import annotations

import contextlib
import importlib
import tempfile
import time
from pathlib import Path

from screener.errors import ConfigError, InputError, Location
from screener.files import atomic_writer
from screener.jobs.batch.duplicates import Index
from screener.jobs.batch.ranked import count_warnings, write_ranked
from screener.jobs.batch.request import BatchRequest, BatchSummary, rejects_path
from screener.jobs.batch.scoring import score_pass
from screener.jobs.batch.settling import settle
from screener.jobs.batch.workers import (
    WorkerConfig,
    Workers,
    rare_full_collections,
)
from screener.jobs.inputs import expand, header_problems
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


def run_batch(request: BatchRequest) -> BatchSummary:
    """Screen every record of the inputs; see the module docstring for the guarantees."""
    from screener.rules.rulebook import load_rulebook

    started = time.perf_counter()
    check_output(request.out)
    if request.workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {request.workers}", Location("--workers"))
    files = expand(request.inputs)
    rulebook = load_rulebook(request.rules)  # once, here: a bad pack fails before any work
    csv_inputs = any(f.suffix.lower() == ".csv" for f in files)
    mapping = (
        load_mapping(request.mapping, rulebook.schema, dict(request.rates)) if request.mapping or csv_inputs else None
    )
    InputError.collect(header_problems(files, mapping))  # a file every row of which would be misread
    rejects_file = rejects_path(request)
    summary = BatchSummary(rejects=rejects_file)
    lacking = ""
    if mapping is not None and csv_inputs:
        missing = unfilled(mapping, rulebook)
        if missing:
            lacking = lacks_note(mapping, missing)
            summary.warnings.append(lacks_warning(mapping, rulebook, missing))
    if request.memos is not None:
        from screener.memo import MemoRenderer

        MemoRenderer(request.templates, request.template)  # likewise for a bad template
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
        lacking,
    )  # fmt: skip
    with contextlib.ExitStack() as stack:
        if database is not None:
            from screener import store

            stack.callback(database.dispose)
            stack.enter_context(store.checkpointing(database))  # the workers' commits leave it to this
        pool = stack.enter_context(Workers(config, request.workers))
        stack.enter_context(rare_full_collections())  # after the pool: its screener is frozen too
        rejects = stack.enter_context(atomic_writer(rejects_file))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="screener-batch-")))
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
