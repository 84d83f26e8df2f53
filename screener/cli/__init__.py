"""The ``screen`` command line: parse arguments, call one function, print, map the outcome to an exit code.

Commands are thin: every :class:`~screener.errors.ScreenerError` is caught once, at the edge
(:func:`screener.cli.common.reports_errors`), and printed as ``file:line:col: message`` lines
with the exit code of its class. :mod:`~screener.cli.report` prints what the jobs and analyses
return; nothing below this package prints to the terminal.
"""

from __future__ import annotations

from screener.cli.main import main, run

__all__ = ["main", "run"]
