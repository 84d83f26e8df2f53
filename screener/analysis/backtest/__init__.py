"""``screen backtest``: how well a pack's screen would have picked the companies later labelled good.

:mod:`~screener.analysis.backtest.run` screens the labelled rows (read by
:mod:`~screener.analysis.backtest.labels`), :mod:`~screener.analysis.backtest.metrics` measures
them into the models of :mod:`~screener.analysis.backtest.models`,
:mod:`~screener.analysis.backtest.heldout` gives the held-out estimate, and
:mod:`~screener.analysis.backtest.report` writes the report file.
"""

from __future__ import annotations

from screener.analysis.backtest.models import BacktestReport
from screener.analysis.backtest.report import html, markdown, show_interval, show_lift, show_share
from screener.analysis.backtest.run import BacktestRequest, backtest, backtest_file

__all__ = [
    "BacktestReport", "BacktestRequest", "backtest", "backtest_file", "html", "markdown", "show_interval", "show_lift",
    "show_share",
]  # fmt: skip
