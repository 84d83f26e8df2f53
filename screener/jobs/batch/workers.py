"""The worker processes of a batch: their configuration and state, the pool, and garbage collection.

Each worker builds its screener (and database engine, memo renderer) once; chunk functions run
in the pool with at most two chunks in flight per worker, so reading never runs ahead of scoring.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from screener.errors import Stopped, WorkerError
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


def machine_workers() -> int:
    """The CPUs this process may run on: the default number of workers.

    ``os.process_cpu_count`` (Python 3.13) and ``sched_getaffinity`` count the CPUs this process
    is allowed (a container or ``taskset`` limit), where ``os.cpu_count`` counts the machine's.
    """
    counted = getattr(os, "process_cpu_count", None)
    if counted is not None:
        return max(1, counted() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


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
    full: bool = False  #: score every record, also those unchanged since their stored screening (--full)
    #: when the batch began (UTC): settling removes only the loser rows saved since
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class WorkerState:
    config: WorkerConfig
    screener: Any  #: a screener.screening.screener.Screener, built once per worker
    stored: Any  #: a screener.store.stored.StoredResults over that screener
    store: Any = None  #: a SQLAlchemy engine, or None
    renderer: Any = None  #: a MemoRenderer, or None
    recognizer: Any = None  #: with a database, a jobs.batch.unchanged.Recognizer, built at the first chunk


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

    At most ``2 * n`` chunks are in flight, so reading never runs ahead of scoring. A worker
    process that dies (the out-of-memory killer, ``kill -9``) fails the batch with a
    :class:`~screener.errors.WorkerError` instead of waiting for it forever; a stop asked by a
    signal (:func:`stopping_on_signals`) is honoured while waiting. Either way the other workers
    are ended: what they had committed stays, and running the batch again completes it.
    """

    #: How long the parent waits for a chunk before it looks at signals again (seconds).
    POLL = 0.2

    def __init__(self, config: WorkerConfig, n: int):
        self.config, self.n = config, n
        self.pool: Any = None

    def __enter__(self) -> Workers:
        if self.n == 1:
            init_worker(self.config, ignore_interrupt=False)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: a forked child would inherit the parent's engine handles and locks.
            context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(
                self.n, mp_context=context, initializer=init_worker, initargs=(self.config,)
            )
            self._start()
        return self

    def _start(self) -> None:
        """Start every worker now, with Ctrl-C ignored until each has set up its own handling.

        A worker still importing when Ctrl-C reaches the process group would die with a
        traceback of its own; one started with SIGINT ignored inherits that, as it should. Each
        submitted task starts one process (the pool starts them on demand).
        """
        import threading

        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            started = [self._submit(_ready) for _ in range(self.n)]
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        for future in started:
            self._result(future)

    def map(self, func: Callable[[list[Any]], Any], chunks: Iterable[list[Any]]) -> Iterator[Any]:
        if self.pool is None:
            for chunk in chunks:
                check_stop()
                yield func(chunk)
            return
        pending: deque[Any] = deque()
        for chunk in chunks:
            check_stop()
            pending.append(self._submit(func, chunk))
            if len(pending) >= 2 * self.n:
                yield self._result(pending.popleft())
        while pending:
            yield self._result(pending.popleft())

    def _submit(self, func: Callable[..., Any], *args: Any) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.pool.submit(func, *args)
        except BrokenProcessPool:  # a worker died while none of its chunks was waited for
            raise WorkerError(self._death()) from None

    def _result(self, future: Any) -> Any:
        from concurrent.futures import TimeoutError as Timeout
        from concurrent.futures.process import BrokenProcessPool

        while True:
            check_stop()
            try:
                return future.result(timeout=self.POLL)
            except Timeout:
                continue
            except BrokenProcessPool:
                time.sleep(self.POLL)  # a signal to the whole group also ends workers: that is a stop
                check_stop()
                raise WorkerError(self._death()) from None

    def _death(self) -> str:
        codes = sorted({p.exitcode for p in self._processes() if p.exitcode})
        # The pool ends the other workers with SIGTERM once one has died: that is not how it died.
        codes = [c for c in codes if c != -signal.SIGTERM] or codes
        how = ", ".join(f"killed by {signal.Signals(-c).name}" if c < 0 else f"exit status {c}" for c in codes)
        return (
            f"a worker process died{f' ({how})' if how else ''}, perhaps stopped by the out-of-memory killer; "
            "the batch stopped. What the workers had saved stays: run the same command again to complete it "
            "(with fewer --workers, or a smaller --chunk-size, if memory was short)"
        )

    def _processes(self) -> list[Any]:
        # ProcessPoolExecutor cannot end its workers before Python 3.14: its process table is the way.
        return list((getattr(self.pool, "_processes", None) or {}).values())

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self.pool is None:
            close_worker()
            return
        if exc_type is None:
            self.pool.shutdown(wait=True)
            return
        processes = self._processes()
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=10)


def _ready() -> bool:
    """A task that only proves a worker started and set itself up."""
    return True


#: Signals received while a batch runs (the first asks it to stop at the next chunk).
_STOP: list[int] = []


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[None]:
    """While the block runs, Ctrl-C (SIGINT) or SIGTERM asks the batch to stop between records.

    The first signal is noted and :func:`check_stop` raises :class:`~screener.errors.Stopped` at
    the next safe point (between records, chunks and rows), so that what is under way is either
    committed or not at all; a second one stops at once. Only the main thread can take signals.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum: int, _frame: Any) -> None:
        if _STOP:
            raise Stopped(_STOP[0])
        _STOP.append(signum)

    previous = {number: signal.signal(number, note) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _STOP.clear()


def check_stop() -> None:
    """Raise :class:`~screener.errors.Stopped` if a signal asked the batch to stop."""
    if _STOP:
        raise Stopped(_STOP[0])
