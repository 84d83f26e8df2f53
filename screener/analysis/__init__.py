"""Looking at a pack from outside: explain one screening, diff two packs, run a pack's tests, backtest it.

Each analysis computes a typed report; the command line prints it (:mod:`screener.cli.analysis_report`).
"""
