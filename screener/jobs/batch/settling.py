"""Settling duplicates, after the scoring pass: losers rejected and their rows removed, winners' memos drafted again.

Every record is scored as it comes, before it is known whether a later record of the same
company beats it, so that no record is validated twice. When the pass found duplicates, the
inputs are read again: each losing record goes to the rejects file naming the record that won
and why, and the row it saved is removed (a row is one distinct screening, so a loser's facts
made a row of their own beside the winner's; one with exactly the winner's facts is the winner's
row). Each winner of a duplicated company has its memo rendered again (a loser may have written
one at its key), or a loser's memo removed. A loser whose own key differs (matched on the other
identity) has the memo it wrote under that key removed. Deal data has few duplicates, so this
costs little; without any, nothing is read twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

from screener.errors import EngineError, Location, Problem
from screener.jobs.batch.duplicates import Index
from screener.jobs.batch.memos import drafts, kept, remove_memo, write_memo
from screener.jobs.batch.rejects import raw_data, write_reject
from screener.jobs.batch.request import BatchRequest, BatchSummary, DuplicateRule, rejects_path
from screener.jobs.batch.workers import (
    Workers,
    check_stop,
    chunks,
    worker_state,
)
from screener.jobs.inputs import RawRecord, read_raw, validate
from screener.jobs.mapping import Mapping as ColumnMapping


def settle(
    files: list[Path],
    mapping: ColumnMapping | None,
    request: BatchRequest,
    pool: Workers,
    rejects: IO[str],
    summary: BatchSummary,
    index: Index,
) -> None:
    """Reject the losers naming their winner and remove the rows they saved; memo the winners again.

    A loser whose own company key differs from the winner's (matched on the other identity) left
    perhaps a memo under its own key: it is removed.
    """
    database, memos = request.database is not None, request.memos is not None

    def work() -> Iterator[Settling]:
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
                if memos and current.memo:  # a loser wrote a memo at its key: the winner's is drafted again
                    yield Settling(raw, True)
                continue
            elsewhere = current.own_key != current.key
            if elsewhere:
                # Name keys have no dots: both are domains, so the name (perhaps via a third record) joined them.
                across[0] += "." in current.own_key and "." in current.key
            row = database and (elsewhere or current.content != current.kept_content)
            memo = memos and elsewhere and current.memo
            if row or memo:
                yield Settling(None, memo, current.own_key, current.content if row else None)
            where = f"{current.source}:{current.line}" if current.line else current.source
            write_reject(
                rejects, raw.source, raw.line, raw_data(raw),
                [{"location": f"{raw.source}:{raw.line}" if raw.line else raw.source, "field": None,
                  "message": f"duplicate of company {current.key!r} ({where}): {same}; that record is kept "
                             "because it has more key fields filled in, else a later as_of, else it was read "
                             "first"}],
                duplicate_of={"source": current.source, "line": current.line, "key": current.key},
            )  # fmt: skip

    across = [0]
    same = _SAME[request.duplicates]
    for changed in pool.map(settle_chunk, chunks(work(), request.chunk_size)):
        summary.warnings.extend(changed)
    if across[0]:
        summary.warnings.append(
            Problem(
                f"{across[0]} record(s) at one website domain were taken for duplicates of a company at another, "
                "because they share its normalised name (directly or through another record), as "
                "--duplicates domain-or-name asks; see the rejects file. Without that option, different "
                "websites are different companies",
                Location(str(rejects_path(request))),
                level="warning",
            )
        )


#: Why two records are one company, as a reject says it, by duplicate rule.
_SAME = {
    DuplicateRule.DOMAIN_ELSE_NAME: "same website domain (without a website: same normalised name)",
    DuplicateRule.DOMAIN_OR_NAME: "same website domain or same normalised name",
}


class Settling(NamedTuple):
    """Work for settling: a winner to memo again, or what a loser left (a row, a memo under its own key)."""

    raw: RawRecord | None  #: the winner's record; None: a loser's leftovers to remove
    memo: bool  #: a winner: whether a loser wrote a memo at its key; a loser: whether to remove its memo
    own_key: str | None = None  #: a loser's own company key
    content: str | None = None  #: a loser's profile hash, when its row is to be removed


def settle_chunk(work: list[Settling]) -> list[Problem]:
    """Rewrite or remove the memos of winners of duplicated companies; remove the rows losers saved and
    the memos they wrote under their own keys. The chunk's database changes are one transaction."""
    state = worker_state()
    config = state.config
    book = state.screener.rulebook
    removed, changed = [], []
    for raw, stale_memo, own_key, content in work:
        check_stop()
        if raw is None:
            assert own_key is not None
            if content is not None:
                removed.append((own_key, book.hash, content, config.on))
            if stale_memo:
                changed.extend(remove_memo(state, own_key))
            continue
        record = validate(raw, config.rates, config.mapping, config.rulebook.schema, config.strict)
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
        if drafts(state, stored.verdict):
            if stale_memo:
                edited = write_memo(state, state.screener.evaluate(profile, config.on))
                if edited is not None:
                    changed.append(kept(edited))
        elif stale_memo:
            changed.extend(remove_memo(state, stored.key))
    if state.store is not None and removed:
        from screener import store

        # A loser's facts that an earlier run stored were only screened again here: that row is
        # history (its date now this batch's), not this batch's leftover.
        store.save_encoded(state.store, [], [], remove=removed, created_since=config.started)
    return changed
