"""``screen list`` a page at a time: keyset pagination in the ranking order, read from one index.

The ranked list (:func:`screener.store.reading.summaries`) numbers every company's screenings
with a window function before it can sort them, so its first row costs a pass over the whole
table: seconds at a million rows. A page here is read from the index ``ix_screening_ranking``
(migration 0007), whose columns are the ranking's own terms (:data:`RANKING`): the database walks
the index in order, keeps a row only when no newer screening of the same company under the same
pack version exists (one seek on the company's rows), and stops after ``limit`` rows.

The next page starts after the last row's place in that order, carried in a :class:`Cursor`
(its ranking terms and id, not a row count), so a deep page costs what the first does, and rows
saved meanwhile never shift a page onto rows already shown. The order is total (the id comes
last), so following cursors lists every row exactly once, ties included.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, literal_column, select, tuple_
from sqlalchemy.engine import Engine

from screener.errors import Location, UsageError
from screener.screening.ranking import VERDICT_ORDER
from screener.store.reading import _reading, pack_condition
from screener.store.tables import RANKING, Screening, ScreeningSummary, ranking_terms

#: Rows per page when none is asked for.
PAGE_SIZE = 50


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's ranking terms (as :data:`RANKING` computes them) and id."""

    verdict_rank: int
    knocked_out: int
    score: float
    coverage: float
    company_key: str
    id: int

    def token(self) -> str:
        """The text a user passes to ``--after`` (URL-safe base64 of a JSON array, no padding)."""
        data = [self.verdict_rank, self.knocked_out, self.score, self.coverage, self.company_key, self.id]
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """A cursor from its token; a token no page printed is a usage error naming ``--after``."""
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            rank, knocked, score, coverage, key, id_ = data
            checks = (
                (rank, int), (knocked, int), (score, int | float), (coverage, int | float), (key, str), (id_, int),
            )  # fmt: skip
            if any(isinstance(v, bool) or not isinstance(v, t) for v, t in checks):
                raise TypeError("a value of the wrong type")
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise UsageError(
                f"--after {token!r} is not a page cursor: pass the one a previous 'screen list' printed",
                Location("--after"),
            ) from None
        return cls(rank, knocked, float(score), float(coverage), key, id_)


@dataclass
class Page:
    rows: list[ScreeningSummary]
    next: Cursor | None  #: where the next page starts; None: this was the last


def page(
    engine: Engine,
    *,
    verdict: str | None = None,
    since: dt.date | None = None,
    pack: str | None = None,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """``limit`` rows of the ranked list (the rows :func:`~screener.store.reading.summaries` gives, in
    its order) that come after ``after`` (from the start when None), and the cursor of the next page."""
    names = list(ScreeningSummary.model_fields)
    found: list[Any] = []
    with _reading(engine), engine.connect() as connection:
        for level in range(len(RANKING) - 1, -1, -1) if after is not None else [None]:
            select = query(verdict=verdict, since=since, pack=pack, after=after, level=level, limit=limit - len(found))
            found += connection.execute(select)
            if len(found) > limit:
                break
    rows = [ScreeningSummary.model_validate(dict(zip(names, row, strict=False))) for row in found[:limit]]
    cursor = None
    if len(found) > limit and rows:
        last, (rank, knocked) = rows[-1], found[limit - 1][-2:]
        cursor = Cursor(int(rank), int(knocked), last.score, last.coverage, last.company_key, last.id)
    return Page(rows, cursor)


def query(
    *,
    verdict: str | None,
    since: dt.date | None,
    pack: str | None,
    limit: int,
    after: Cursor | None = None,
    level: int | None = None,
) -> Any:
    """The SELECT of :func:`page`: the summary columns and the rank terms of the cursor, ``limit + 1`` rows.

    After a cursor, the rows that follow it are those equal to it on the ranking's first ``level``
    terms and after it on the next one; :func:`page` reads the levels from the last term to the
    first, which lists them in the ranking order. Each level is an equality on a prefix of the
    index and a range on the next term: a seek, where one comparison of the whole row would be
    a scan from the start of the index in SQLite, which cannot seek a row value on expressions.
    """
    s = Screening.__table__.alias("s")  # type: ignore[attr-defined]
    newer = Screening.__table__.alias("n")  # type: ignore[attr-defined]
    terms: list[Any] = [literal_column(term) for term in ranking_terms("s")]
    # The newest screening of its company under its pack version (among those of --pack), as the
    # window function of reading._ranked decides: none later by (date, update time, id).
    newest = ~exists().where(
        newer.c.company_key == s.c.company_key,
        newer.c.pack_name == s.c.pack_name,
        newer.c.pack_version == s.c.pack_version,
        pack_condition(pack, newer),
        tuple_(newer.c.screened_on, newer.c.updated_at, newer.c.id) > tuple_(s.c.screened_on, s.c.updated_at, s.c.id),
    )
    conditions = [pack_condition(pack, s), newest]
    if verdict in VERDICT_ORDER:
        # As its rank: an equality on the index's first term, so only that verdict's part is read.
        conditions.append(terms[0] == VERDICT_ORDER[verdict])
    elif verdict:  # a verdict no release wrote: ranked after the known ones
        conditions += [terms[0] == len(VERDICT_ORDER), s.c.verdict == verdict]
    if since:
        conditions.append(s.c.screened_on >= since)
    fixed = 1 if verdict else 0  # leading terms held equal: no ORDER BY for them
    if after is not None:
        assert level is not None
        values = (after.verdict_rank, after.knocked_out, -after.score, -after.coverage, after.company_key, after.id)
        conditions += [term == value for term, value in zip(terms[:level], values, strict=False)]
        conditions.append(terms[level] > values[level])
        fixed = max(fixed, level)
    names = list(ScreeningSummary.model_fields)
    return (
        select(*(s.c[name] for name in names), terms[0].label("rank_"), terms[1].label("knocked_"))
        .where(and_(*conditions))
        # Ordering by a term held equal would make SQLite sort: it sees that a column, not an
        # expression, is constant in the order.
        .order_by(*terms[fixed:])
        .limit(limit + 1)  # one more: whether a next page exists
    )
