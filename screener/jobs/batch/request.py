"""What a batch is asked to do and what it reports: the request, the summary, the duplicate rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from screener.errors import Problem
from screener.screening.result import Verdict

#: progress(phase, records done, records in total (an estimate) or None)
Progress = Callable[[str, int, int | None], None]


class DuplicateRule(enum.StrEnum):
    """When two records of a batch are one company."""

    #: The default. They have the same company key: the domain when a record has a website, else
    #: the normalised name. Records at two different domains are never one company.
    DOMAIN_ELSE_NAME = "domain-else-name"
    #: Asked for: they share the website domain or the normalised name (also through a third
    #: record), so a generic name ("Stealth Startup") joins records at different domains.
    DOMAIN_OR_NAME = "domain-or-name"


@dataclass
class BatchRequest:
    inputs: list[Path]
    on: dt.date
    out: Path | None = None  #: ranked output (.csv, .jsonl, .parquet); None: none
    rejects: Path | None = None  #: rejects file (JSON Lines); None: <out>.rejects.jsonl or ./rejects.jsonl
    database: str | None = None  #: None: do not record; "": the default database
    rules: Path | None = None
    mapping: Path | None = None  #: CSV column mapping; None: the built-in Crunchbase-style one
    duplicates: DuplicateRule = DuplicateRule.DOMAIN_ELSE_NAME
    rates: Mapping[str, float] = field(default_factory=dict)
    workers: int | None = None  #: worker processes; None: the CPUs this process may use
    chunk_size: int = 1000
    memos: Path | None = None
    memo_verdict: Verdict = Verdict.STRONG_FIT
    templates: Path | None = None
    template: str = "memo"
    force: bool = False  #: replace memos edited since they were generated (else they are kept, with a warning)
    strict: bool = (
        False  #: a record whose data draws a warning (plausibility, a CSV cell that cannot be read) is rejected
    )
    full: bool = False  #: score every record, also those unchanged since their stored screening
    progress: Progress | None = None


@dataclass
class BatchSummary:
    """What a batch did. ``read == scored + rejected + duplicates`` always holds.

    ``skipped``: per reason, records that were not validated and scored again but taken from their
    stored screening (``unchanged``: same record, same pack content, a screening date inside its
    window; :mod:`screener.jobs.batch.unchanged`). They are counted as scored (or as duplicates) too.
    """

    read: int = 0
    scored: int = 0
    rejected: int = 0
    duplicates: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    warned: int = 0  #: companies kept whose data drew plausibility warnings
    data_warnings: dict[str, int] = field(default_factory=dict)  #: per check id: how many of those companies
    memos: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: {"unchanged": 0})
    workers: int = 0  #: worker processes the batch ran
    left_out: int = 0  #: CSV cells that could not be read and were left out of their profiles
    seconds: float = 0.0
    out: Path | None = None
    rejects: Path | None = None
    database: str | None = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Records per second, end to end."""
        return self.read / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(
            out=str(self.out) if self.out else None,
            rejects=str(self.rejects) if self.rejects else None,
            warnings=[str(w) for w in self.warnings],
            rate=round(self.rate, 1),
            seconds=round(self.seconds, 3),
        )
        return data


def rejects_path(request: BatchRequest) -> Path:
    if request.rejects is not None:
        return request.rejects
    if request.out is not None:
        return request.out.with_name(f"{request.out.stem}.rejects.jsonl")
    return Path("rejects.jsonl")
