"""The jobs that drive the stages: the single screen and the batch, with their inputs.

:mod:`~screener.jobs.screen` is ``screen PROFILE...`` (validate all, screen, then write);
:mod:`~screener.jobs.batch` scores a whole deal-flow export; :mod:`~screener.jobs.inputs` reads
folders, JSON Lines and CSV files record by record, and :mod:`~screener.jobs.mapping` maps CSV
columns onto profile fields.
"""
