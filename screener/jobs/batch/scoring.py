"""The scoring pass: every record validated and screened once, in workers, chunk by chunk.

A worker validates each record of its chunk (an invalid one becomes a reject with every problem),
screens the valid ones (``explain=False``), saves the chunk to the database in one transaction
and renders memos at or above ``memo_verdict``. The parent, taking chunks back in input order,
writes the rejects, offers each scored record to the duplicate index and spills ranked rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from screener.errors import ConfigError, EngineError, Location, Problem, TemplateError
from screener.jobs.batch import unchanged
from screener.jobs.batch.duplicates import Index, Offer
from screener.jobs.batch.memos import drafts, kept, unwritten_memo, write_memo
from screener.jobs.batch.memos import withheld as withheld_pass_notes
from screener.jobs.batch.ranked import RUN_ROWS, Row, spill
from screener.jobs.batch.rejects import problems, raw_data, record_data, write_reject
from screener.jobs.batch.request import BatchRequest, BatchSummary, DuplicateRule
from screener.jobs.batch.workers import (
    Workers,
    check_stop,
    chunks,
    worker_state,
)
from screener.jobs.inputs import RawRecord, estimate_records, read_raw, validate
from screener.jobs.mapping import Mapping as ColumnMapping
from screener.profile import plausibility
from screener.profile.checks import CHECKS, DataWarning
from screener.profile.derived import filled
from screener.rules.rulebook import Rulebook
from screener.screening.result import Verdict
from screener.store.identity import profile_hash
from screener.store.records import Remembered, details_hash, recall, refresh
from screener.store.stored import Stored


def score_pass(
    files: list[Path],
    mapping: ColumnMapping | None,
    request: BatchRequest,
    pool: Workers,
    rejects: IO[str],
    summary: BatchSummary,
    index: Index,
    folder: Path,
) -> list[Path]:
    verdicts: Counter[str] = Counter()
    warned: Counter[str] = Counter()
    left_out: dict[tuple[str, str], tuple[int, Problem]] = {}  #: (file, column) → cells left out, the first
    withheld = 0
    runs: list[Path] = []
    rows: list[Row] = []
    expected = estimate_records(files) if request.progress else 0
    raws = read_raw(files, mapping, summary.warnings.append)
    for scored in pool.map(score_chunk, chunks(raws, request.chunk_size)):
        summary.read += len(scored.offers) + len(scored.rejects)
        summary.skipped["unchanged"] += scored.skipped
        for source, line, data, errors in scored.rejects:
            summary.rejected += 1
            write_reject(rejects, source, line, data, errors)
        for offer in scored.offers:
            verdicts[offer.verdict] += 1
        summary.memos += sum(offer.memo for offer in scored.offers)
        summary.warnings.extend(kept(path) for path in scored.kept)
        for where, (count, first) in scored.left_out.items():
            total, earliest = left_out.get(where, (0, first))
            left_out[where] = (total + count, earliest)
        withheld += scored.withheld
        summary.warnings.extend(scored.unwritten)
        for verdict, memo in index.offer(scored.offers):
            verdicts[verdict] -= 1
            summary.memos -= memo
            summary.duplicates += 1
        summary.scored = summary.read - summary.rejected - summary.duplicates
        for row in scored.rows:
            if row[8]:
                summary.warned += 1
                warned.update(set(row[8]))
        rows.extend(scored.rows)
        if len(rows) >= RUN_ROWS:
            runs.append(spill(rows, folder, len(runs)))
            rows = []
        if request.progress:
            request.progress("scoring", summary.read, max(expected, summary.read))
    if rows:
        runs.append(spill(rows, folder, len(runs)))
    summary.verdicts = {v.value: verdicts.get(v.value, 0) for v in Verdict}
    if withheld:
        summary.warnings.append(withheld_pass_notes(withheld))
    summary.data_warnings = dict(sorted(warned.items(), key=lambda item: _CHECK_ORDER[item[0]]))
    for (source, column), (count, first) in left_out.items():
        summary.left_out += count
        summary.warnings.append(
            Problem(
                f"{count} cell(s) of column {column!r} could not be read and were left out of their profiles "
                f"(first, row {first.location.line if first.location else '?'}: {first.message}); "
                "--strict rejects such rows instead",
                Location(source),
                level="warning",
            )
        )
    return runs


@dataclass(frozen=True, slots=True)
class Scored:
    rows: list[Row]
    offers: list[Offer]  #: one per row
    rejects: list[tuple[str, int, Any, list[dict[str, Any]]]]  #: source, line, record, errors
    kept: list[str]  #: memos not replaced because the user edited them
    #: (file, column) → how many cells were left out, and the first one's warning
    left_out: dict[tuple[str, str], tuple[int, Problem]]
    withheld: int = 0  #: strong fits given no pass note (without --force)
    unwritten: list[Problem] = field(default_factory=list)  #: memos that could not be written (warnings)
    skipped: int = 0  #: records unchanged since their stored screening, not scored again


def score_chunk(raws: list[RawRecord]) -> Scored:
    state = worker_state()
    config = state.config
    book = state.screener.rulebook
    schema = book.schema
    rows, offers, saved, rejects, kept = [], [], [], [], []
    left_out: dict[tuple[str, str], tuple[int, Problem]] = {}
    withheld = 0
    unwritten: list[Problem] = []
    # Unchanged records (jobs.batch.unchanged): recalled from the database, skipped unless their memo is drafted.
    recognizer = state.recognizer
    if recognizer is None and state.store is not None:
        recognizer = state.recognizer = unchanged.Recognizer(config)
    hashes = [recognizer.record_hash(raw) for raw in raws] if recognizer is not None else []
    recalled = {} if config.full or not hashes else recall(state.store, book.hash, [h for h in hashes if h])
    refreshed: list[Any] = []
    remembered: list[Any] = []
    for number, raw in enumerate(raws):
        check_stop()  # in this process (one worker), a Ctrl-C stops before the chunk is saved
        record_hash = hashes[number] if hashes else None
        known = recalled.get(record_hash) if recalled and record_hash else None
        if (
            known is not None
            and len(known.ranked) == unchanged.RANKED_VALUES
            and known.valid_from <= config.on <= known.valid_to
        ):
            verdict = Verdict(known.ranked[4])
            if not drafts(state, verdict):  # a memo shows the screening date: it is drafted from a screening
                row, offer = unchanged.skipped(known.ranked, raw, config, known.profile_hash)
                rows.append(row)
                offers.append(offer)
                refreshed.append(known)
                if state.renderer is not None and verdict is Verdict.STRONG_FIT:
                    withheld += verdict.at_least(config.memo_verdict)
                continue
        record = validate(raw, config.rates, config.mapping, schema, config.strict)
        profile = record.profile
        if profile is None:
            rejects.append((raw.source, raw.line, record_data(record), problems(record)))
            continue
        if config.strict:
            found = plausibility.check(profile, config.on)
            if found:  # a data warning is an error: the record is rejected, nothing is written for it
                rejects.append((raw.source, raw.line, record_data(record) or raw_data(raw), strict_errors(raw, found)))
                continue
        for warning in record.warnings:
            count, first = left_out.get((raw.source, warning.subject), (0, warning))
            left_out[(raw.source, warning.subject)] = (count + 1, first)
        try:
            stored = state.stored(profile, config.on)
        except EngineError as exc:  # e.g. a value too large for the engine: this record only
            where = str(Location(raw.source, raw.line))
            errors = [{"location": where, "field": p.subject or None, "message": p.message} for p in exc.problems]
            rejects.append((raw.source, raw.line, raw_data(raw), errors))
            continue
        verdict = stored.verdict.value
        notes = [f"{w.subject}: {w.message}" for w in record.warnings]
        if config.lacking and raw.kind == "csv" and stored.verdict is Verdict.REVIEW:
            notes.append(config.lacking)
        rows.append(
            (stored.name, stored.key, stored.website, stored.score, verdict, stored.coverage, stored.knockouts,
             stored.reasons, stored.checks, raw.source, raw.line, raw.seq, notes, stored.range.worst,
             stored.range.best, not (stored.range.worst_verdict is stored.range.best_verdict is stored.verdict))
        )  # fmt: skip
        memo = drafts(state, stored.verdict)
        if state.renderer is not None and not memo and stored.verdict is Verdict.STRONG_FIT:
            withheld += stored.verdict.at_least(config.memo_verdict)
        if memo:
            try:
                edited = write_memo(state, state.screener.evaluate(profile, config.on))
            except TemplateError:
                raise  # the template fails for every memo: that stops the batch
            except ConfigError as exc:  # e.g. a link put in the memo folder while the batch ran: this memo only
                unwritten.extend(unwritten_memo(p) for p in exc.problems)
                edited, memo = None, False
            if edited is not None:
                kept.append(str(edited))
                memo = False
        as_of = profile.as_of.toordinal() if profile.as_of else 0
        content = ""
        if state.store is not None:
            snapshot = type(profile).__pydantic_serializer__.to_json(profile)
            content = profile_hash(snapshot)
            saved.append(encoded(book, config.on, stored, snapshot, content))
            if record_hash is not None and not record.warnings:
                first, last = recognizer.window(profile, config.on, stored)
                remembered.append(
                    Remembered(record_hash, stored.key, content, stored.outcome, details_hash(stored.details), first,
                               last, unchanged.ranked_part(stored, profile))
                )  # fmt: skip
        offers.append(
            Offer(
                stored.key,
                stored.identities if config.duplicates is DuplicateRule.DOMAIN_OR_NAME else (f"key:{stored.key}",),
                (filled(profile), as_of, -raw.seq),
                raw.seq,
                raw.source,
                raw.line,
                verdict,
                memo,
                content,
            )
        )
    if state.store is not None:
        from screener import store

        store.save_encoded(state.store, saved, [state.stored.pack_rules])  # the whole chunk, in one transaction
        # After the rows: a record remembered with no row to match is only scored again next time.
        refresh(state.store, (book.name, book.version, book.hash), config.on, refreshed, remembered)
    return Scored(rows, offers, rejects, kept, left_out, withheld, unwritten, len(refreshed))


def strict_errors(raw: RawRecord, found: list[DataWarning]) -> list[dict[str, Any]]:
    """A record's data warnings as the errors of a reject (``--strict``)."""
    where = str(Location(raw.source, raw.line))
    return [
        {"location": where, "field": w.fields[0], "message": f"{w.message} [{w.check}] (an error with --strict)"}
        for w in found
    ]


#: The catalogue's order, in which the summary lists the checks.
_CHECK_ORDER = {check_id: number for number, check_id in enumerate(CHECKS)}


def encoded(book: Rulebook, on: dt.date, stored: Stored, snapshot: bytes, content: str) -> Any:
    """The database row of a screening: a ``store.Encoded`` (store is imported only when a database is used).

    ``snapshot`` is the profile's JSON, ``content`` its ``store.identity.profile_hash``.
    """
    from screener import store

    return store.Encoded(
        stored.key, stored.name, stored.website, book.name, book.version, book.hash, content, stored.outcome, on,
        stored.score, stored.verdict.value, stored.coverage, orjson.dumps(stored.knockouts),
        orjson.dumps(stored.matched), snapshot, stored.details, stored.warnings, stored.range.worst,
        stored.range.best, stored.range.worst_verdict.value, stored.range.best_verdict.value,
    )  # fmt: skip
