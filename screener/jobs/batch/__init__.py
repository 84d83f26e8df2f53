"""The batch job behind ``screen batch``, split by phase.

:mod:`~screener.jobs.batch.job` runs it; :mod:`~screener.jobs.batch.scoring` is the pass that
validates and screens every record in :mod:`~screener.jobs.batch.workers`;
:mod:`~screener.jobs.batch.duplicates` decides which records are one company and
:mod:`~screener.jobs.batch.settling` settles them; :mod:`~screener.jobs.batch.ranked` writes the
ranked output and :mod:`~screener.jobs.batch.rejects` the rejects file. Reading the inputs is
:mod:`screener.jobs.inputs`.
"""

from __future__ import annotations

from screener.jobs.batch.job import OUTPUT_SUFFIXES, check_output, run_batch
from screener.jobs.batch.ranked import COLUMNS
from screener.jobs.batch.request import BatchRequest, BatchSummary, DuplicateRule, rejects_path

__all__ = [
    "COLUMNS",
    "OUTPUT_SUFFIXES",
    "BatchRequest",
    "BatchSummary",
    "DuplicateRule",
    "check_output",
    "rejects_path",
    "run_batch",
]
