"""Batch progress where no one watches a terminal: a line on stderr every few seconds.

Cron jobs and CI logs keep what a batch writes to stderr; a progress bar there is noise, and
nothing at all leaves a long run silent. :class:`ProgressLines` writes one plain line per
interval (and, when it wrote one, a last one as the phase ends; a batch quicker than one
interval stays quiet): the phase, records done of the estimated total, the
share, the elapsed time, the rate and the time left::

    batch: scoring 12,000/60,000 (20%) in 3.5s, 3,429 profiles/s, about 14s left
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from screener.texts import format_percent

#: Seconds between two progress lines by default.
EVERY = 5.0


def duration(seconds: float) -> str:
    """``14s``, ``3m 20s``, ``1h 05m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@dataclass
class ProgressLines:
    """A batch progress callback (phase, done, total) that writes a line at most every ``every`` seconds."""

    write: Callable[[str], None]
    every: float = EVERY
    clock: Callable[[], float] = time.monotonic
    _phase: str = ""
    _started: float | None = None  #: when the phase under way started (the first: when the batch did)
    _last: float = 0.0
    _pending: tuple[int, int | None] | None = field(default=None)
    _said: bool = False  #: whether the phase under way has had a line

    def __post_init__(self) -> None:
        self._started = self._last = self.clock()

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        now = self.clock()
        if phase != self._phase:
            self.finish()
            if self._phase:
                self._started, self._last = now, now
            self._phase, self._said = phase, False
        self._pending = (done, total)
        if now - self._last >= self.every:
            self._line(now)

    def finish(self) -> None:
        """The last figures of the phase under way, if it has had a line but not these figures."""
        if self._said and self._pending is not None:
            self._line(self.clock())

    def _line(self, now: float) -> None:
        assert self._pending is not None
        done, total = self._pending
        self._pending, self._last, self._said = None, now, True
        elapsed = now - (self._started or now)
        rate = done / elapsed if elapsed > 0 else 0.0
        counted = f"{done:,}/{total:,} ({format_percent(done / total)})" if total else f"{done:,}"
        left = ""
        if total and rate > 0 and done < total:
            left = f", about {duration((total - done) / rate)} left"
        speed = f", {rate:,.0f} profiles/s" if rate > 0 else ""
        self.write(f"batch: {self._phase} {counted} in {duration(elapsed)}{speed}{left}")
