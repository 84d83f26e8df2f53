"""The tables of the screening database and the models a stored screening is read back as.

Base, table and read models are kept apart (as SQLModel's tutorials do): the columns once, the
``screening`` table (one row per distinct screening, :mod:`screener.store.identity`) and the
``pack_rules`` table (each pack's content and rules, by content hash), the ``batch_record`` table (what a batch
remembers of each record it scored, :mod:`screener.store.records`), and what ``screen list`` (a summary) and
``history`` (the full result, joined) read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

#: The ranking (:mod:`screener.screening.ranking`) as index terms, all ascending: verdict, knocked
#: out, score and coverage (negated: highest first), company key, id. Migration 0007 indexes these
#: very expressions; a database uses an expression index only for the same expression, so the
#: query spells them identically (a test holds the list equal to the migration's, and another
#: that SQLite's plan reads the index instead of sorting).
RANKING = (
    "(CASE {t}verdict WHEN 'strong-fit' THEN 0 WHEN 'review' THEN 1 WHEN 'pass' THEN 2 ELSE 3 END)",
    "(CASE WHEN CAST({t}knockouts AS VARCHAR) = '[]' THEN 0 ELSE 1 END)",
    "(-{t}score)",
    "(-{t}coverage)",
    "{t}company_key",
    "{t}id",
)


def ranking_terms(table: str = "") -> list[str]:
    """:data:`RANKING` with its columns read from ``table`` (none: as an index names them)."""
    return [term.format(t=f"{table}." if table else "") for term in RANKING]


class ScreeningColumns(SQLModel):
    """What a stored screening says in columns of its own (all but its profile and details documents)."""

    company_key: str = Field(max_length=300)  #: indexed first in ix_screening_newest and the identity
    company_name: str = Field(max_length=300)
    website: str | None = Field(default=None, max_length=2000)
    pack_name: str = Field(max_length=200)
    pack_version: str = Field(max_length=100)
    pack_hash: str = Field(max_length=64, foreign_key="pack_rules.hash")
    profile_hash: str = Field(max_length=64)  #: sha256 of the profile snapshot (store.identity)
    outcome_hash: str = Field(max_length=64)  #: sha256 of what the screen decided (store.identity)
    screened_on: dt.date = Field(index=True)
    score: float  #: indexed in ix_screening_ranking
    verdict: str = Field(max_length=20)  #: indexed (its rank) in ix_screening_ranking
    coverage: float
    #: The score range (screening.result.ScoreRange); None only for a row the upgrade to 0006 could not compute.
    score_worst: float | None = None
    score_best: float | None = None
    verdict_worst: str | None = Field(default=None, max_length=20)
    verdict_best: str | None = Field(default=None, max_length=20)
    knockouts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    matched: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: the plausibility warnings on the profile (screening.result.DataWarning as JSON data)
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )


class ScreeningBase(ScreeningColumns):
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Screening(ScreeningBase, table=True):
    """One distinct screening of a company (``store.identity``): a re-run of unchanged input adds no row."""

    __tablename__ = "screening"
    __table_args__ = (
        UniqueConstraint("company_key", "pack_hash", "profile_hash", "outcome_hash", name="uq_screening_identity"),
        Index("ix_screening_pack", "pack_name", "pack_version", "pack_hash"),
        Index("ix_screening_ranking", *(text(term) for term in ranking_terms())),
        Index("ix_screening_newest", "company_key", "pack_name", "pack_version", "screened_on", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: NaiveDatetime  #: UTC
    updated_at: NaiveDatetime  #: UTC


class PackRulesRow(SQLModel, table=True):
    """A pack by content hash: its full content, and its rules as every result under it shows them (``packing.PackRules``)."""

    __tablename__ = "pack_rules"

    hash: str = Field(primary_key=True, max_length=64)
    rules: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    #: The pack's canonical JSON (``rules.identity.canonical``), from which any verdict under it can be
    #: computed again; None for a pack stored before migration 0004 and not screened with since.
    content: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: NaiveDatetime  #: UTC


class BatchRecord(SQLModel, table=True):
    """A record a batch scored, and the screening it gave: what lets a re-run skip it while nothing changed.

    Keyed on the record's content hash (its bytes and everything they were read with,
    :mod:`screener.jobs.batch.unchanged`) and the pack's content hash. It names the screening row by
    its identity and the hash of the details the batch wrote there, so a row that another command
    rewrote since is noticed; the dates over which the screening holds (``screening.validity``); and
    what the ranked output and the duplicate rule take from the record without validating it again.
    """

    __tablename__ = "batch_record"

    record_hash: str = Field(primary_key=True, max_length=64)
    pack_hash: str = Field(primary_key=True, max_length=64)
    company_key: str = Field(max_length=300)
    profile_hash: str = Field(max_length=64)
    outcome_hash: str = Field(max_length=64)
    details_hash: str = Field(max_length=64)  #: sha256 of the details JSON the batch wrote into the row
    valid_from: dt.date  #: the first screening date at which the screening comes out the same
    valid_to: dt.date  #: the last such date
    #: the ranked row's reasons and warnings, the company's identities and the record's rank (store.records.Recalled)
    ranked: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: NaiveDatetime  #: UTC


class ScreeningSummary(ScreeningColumns):
    """A stored screening's columns without its profile and result (what ``screen list`` shows)."""

    id: int
    created_at: NaiveDatetime
    updated_at: NaiveDatetime


class ScreeningRead(ScreeningBase):
    """A stored screening as read back, with its full result (what ``history`` shows and ``memo --from-db`` reads)."""

    id: int
    created_at: NaiveDatetime
    updated_at: NaiveDatetime
    result: dict[str, Any]  #: the JSON form of the ScreeningResult, joined from the row and its pack's rules
