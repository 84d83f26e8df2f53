"""The worker processes of a batch: their configuration and state, the pool, and garbage collection.

Each worker builds its screener (and database engine, memo renderer) once; chunk functions run
in the pool with at most two chunks in flight per worker, so reading never runs ahead of scoring.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screener.jobs.batch.request import DuplicateRule
from screener.jobs.mapping import Mapping as ColumnMapping
from screener.rules.rulebook import Rulebook
from screener.screening.result import Verdict


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


#: Collect the oldest generation only after this many collections of the middle one (CPython's
#: default is 10).
FULL_COLLECTION_EVERY = 100


@contextlib.contextmanager
def rare_full_collections() -> Iterator[None]:
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


@dataclass(frozen=True)
class WorkerConfig:
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
    strict: bool = False  #: reject records whose data draws warnings (plausibility, a CSV cell that cannot be read)
    lacking: str = ""  #: what a review of a CSV record says the export lacks ("" when it lacks nothing)


@dataclass
class WorkerState:
    config: WorkerConfig
    screener: Any  #: a screener.screening.screener.Screener, built once per worker
    stored: Any  #: a screener.store.stored.StoredResults over that screener
    store: Any = None  #: a SQLAlchemy engine, or None
    renderer: Any = None  #: a MemoRenderer, or None


_STATE: WorkerState | None = None


def init_worker(config: WorkerConfig, ignore_interrupt: bool = True) -> None:
    """Build the worker's own screener (and database engine, memo renderer) once."""
    global _STATE
    from screener.screening.screener import Screener
    from screener.store.stored import StoredResults

    if ignore_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    screener = Screener(config.rulebook)
    state = WorkerState(config, screener, StoredResults(screener))
    if config.database is not None:
        from screener import store

        state.store = store.connect(config.database or None, autocheckpoint=False)
    if config.memos is not None:
        from screener.memo import MemoRenderer

        state.renderer = MemoRenderer(config.templates, config.template)
    _STATE = state
    if ignore_interrupt:  # a pool process lives for one batch: nothing to restore
        _collect_rarely()


def close_worker() -> None:
    global _STATE
    if _STATE is not None:
        _STATE.screener.close()
        if _STATE.store is not None:
            _STATE.store.dispose()
        _STATE = None


def worker_state() -> WorkerState:
    assert _STATE is not None, "worker not initialised"
    return _STATE


class Workers:
    """Runs chunk functions in ``n`` processes (or in this one when ``n`` is 1), results in order.

    At most ``2 * n`` chunks are in flight, so reading never runs ahead of scoring.
    """

    def __init__(self, config: WorkerConfig, n: int):
        self.config, self.n = config, n
        self.pool: Any = None

    def __enter__(self) -> Workers:
        if self.n == 1:
            init_worker(self.config, ignore_interrupt=False)
        else:
            import multiprocessing

            # spawn, not fork: a forked child would inherit the parent's engine handles and locks.
            context = multiprocessing.get_context("spawn")
            self.pool = context.Pool(self.n, initializer=init_worker, initargs=(self.config,))
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
            close_worker()
            return
        if exc_type is None:
            self.pool.close()
        else:
            self.pool.terminate()
        self.pool.join()
