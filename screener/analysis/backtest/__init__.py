"""``screen backtest``: how well a pack's verdicts would have picked the companies later labelled good.

:mod:`~screener.analysis.backtest.run` screens the labelled rows (read by
:mod:`~screener.analysis.backtest.labels`), :mod:`~screener.analysis.backtest.metrics` measures
them into the models of :mod:`~screener.analysis.backtest.models`, and
:mod:`~screener.analysis.backtest.report` writes the report file.
"""

from __future__ import annotations

from screener.analysis.backtest.models import BacktestReport
from screener.analysis.backtest.report import html, markdown, show_interval, show_share
from screener.analysis.backtest.run import backtest_file

__all__ = ["BacktestReport", "backtest_file", "html", "markdown", "show_interval", "show_share"]
