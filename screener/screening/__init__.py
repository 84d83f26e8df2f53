"""One profile through one pack: the engine's matches turned into outcomes, score, verdict and coverage.

:mod:`~screener.screening.screener` runs a profile through the engine,
:mod:`~screener.screening.scoring` scores the outcomes, and :mod:`~screener.screening.result` is
the result model every later stage reads.
"""
