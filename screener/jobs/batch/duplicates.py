"""The duplicate rule's index: which records of a batch are one company, and which of them is kept.

Records that share an identity are one company, kept once; transitively, so with the
``domain-or-name`` rule a record named like one company at another's domain joins them (with
the default rule a record's one identity is its company key, so nothing is joined that way). The winner is
the record with the most key fields filled in (those the completeness figure counts); on a tie,
the one with the latest ``as_of`` (a record without ``as_of`` is oldest); on a tie, the one read
first. Its company key (:func:`~screener.profile.model.company_key`) is the company's. The index
lives in a scratch SQLite file, so memory stays flat in the number of records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple


class Index:
    """What the duplicate rule needs, kept in a scratch SQLite file so memory stays flat.

    Records that share a website domain or a normalised name are one company, transitively: a
    record can join two companies seen apart so far (one by domain, one by name) into one. Each
    such company is a group, numbered by the position of its first record. Per identity
    (``domain:…``, ``name:…``, ``key:…``) its group; per group the best record so far (rank,
    position, place in the input, company key, verdict, whether it wrote a memo, its profile hash);
    per losing record its group, its own company key, whether it wrote a memo and its profile hash.
    """

    def __init__(self, path: Path):
        import sqlite3

        self.db = sqlite3.connect(path)
        self.db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE identity (identity TEXT PRIMARY KEY, grp INT) WITHOUT ROWID;
            CREATE TABLE best (grp INTEGER PRIMARY KEY, r1 INT, r2 INT, r3 INT, seq INT, source TEXT, line INT,
                               key TEXT, verdict TEXT, memo INT, content TEXT);
            CREATE TABLE lost (seq INTEGER PRIMARY KEY, grp INT, key TEXT, memo INT, content TEXT);
            CREATE INDEX identity_grp ON identity (grp);  -- merging groups moves their identities
            CREATE INDEX lost_grp ON lost (grp);
            CREATE TEMP TABLE offered (identity TEXT, seq INT);  -- the chunk being offered
            """
        )

    def offer(self, offers: list[Offer]) -> list[tuple[str, bool]]:
        """Offer scored records in input order; the higher rank keeps the company.

        Returns the verdict of each record that lost, and whether it wrote a memo.
        """
        db = self.db
        # Most records are a company's first: find those whose identities were seen before (in an
        # earlier chunk or earlier in this one) in two statements, take the rest in as new
        # companies at once, and contest only the others, in input order.
        db.executemany("INSERT INTO offered VALUES (?, ?)", [(i, o.seq) for o in offers for i in o.identities])
        seen = {
            seq
            for (seq,) in db.execute(
                """
                SELECT offered.seq FROM offered JOIN identity USING (identity)
                UNION
                SELECT later.seq FROM offered AS later JOIN offered AS earlier
                    ON earlier.identity = later.identity AND earlier.seq < later.seq
                """
            )
        }
        db.execute("DELETE FROM offered")
        losers: list[tuple[str, bool]] = []
        fresh: list[Offer] = []
        for offer in offers:
            if offer.seq not in seen:
                fresh.append(offer)
                continue
            self._add(fresh)  # an earlier record of this chunk may be the one it meets
            fresh = []
            losers.extend(self._contest(offer))
        self._add(fresh)
        db.commit()
        return losers

    def _add(self, offers: list[Offer]) -> None:
        """Take in records of companies not seen before."""
        self.db.executemany(
            "INSERT INTO best VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(o.seq, *o.rank, o.seq, o.source, o.line, o.key, o.verdict, o.memo, o.content) for o in offers],
        )
        self.db.executemany("INSERT INTO identity VALUES (?, ?)", [(i, o.seq) for o in offers for i in o.identities])

    def _contest(self, offer: Offer) -> list[tuple[str, bool]]:
        """Settle a record whose identities were seen: returns each loser's verdict and memo."""
        db = self.db
        marks = ", ".join("?" for _ in offer.identities)
        groups = sorted(
            {g for (g,) in db.execute(f"SELECT grp FROM identity WHERE identity IN ({marks})", offer.identities)}  # noqa: S608 (placeholders only)
        )
        group, merged = groups[0], groups[1:]
        losers = []
        for other in merged:  # the record joins companies seen apart: they become one
            r1, r2, r3, seq, source, line, key, verdict, memo, content = db.execute(
                "SELECT r1, r2, r3, seq, source, line, key, verdict, memo, content FROM best WHERE grp = ?", (other,)
            ).fetchone()
            db.execute("DELETE FROM best WHERE grp = ?", (other,))
            db.execute("UPDATE identity SET grp = ? WHERE grp = ?", (group, other))
            db.execute("UPDATE lost SET grp = ? WHERE grp = ?", (group, other))
            held = Offer(key, (), (r1, r2, r3), seq, source, line, verdict, bool(memo), content)
            losers.append(self._meet(group, held))
        db.executemany("INSERT OR IGNORE INTO identity VALUES (?, ?)", [(i, group) for i in offer.identities])
        losers.append(self._meet(group, offer))
        return losers

    def _meet(self, group: int, offer: Offer) -> tuple[str, bool]:
        """The group's best record against ``offer``: the lower rank is lost. Returns its verdict and memo."""
        db = self.db
        held = db.execute(
            "SELECT r1, r2, r3, seq, key, verdict, memo, content FROM best WHERE grp = ?", (group,)
        ).fetchone()
        if tuple(held[:3]) >= offer.rank:
            loser = (offer.seq, offer.key, offer.verdict, offer.memo, offer.content)
        else:
            loser = (held[3], held[4], held[5], bool(held[6]), held[7])
            db.execute(
                "UPDATE best SET r1 = ?, r2 = ?, r3 = ?, seq = ?, source = ?, line = ?, key = ?, verdict = ?, memo = ?, "
                "content = ? WHERE grp = ?",
                (*offer.rank, offer.seq, offer.source, offer.line, offer.key, offer.verdict, offer.memo,
                 offer.content, group),
            )  # fmt: skip
        db.execute("INSERT INTO lost VALUES (?, ?, ?, ?, ?)", (loser[0], group, loser[1], loser[3], loser[4]))
        return loser[2], loser[3]

    def settlements(self) -> Iterator[Settlement]:
        """Every record of a company seen more than once, in input order."""
        rows = self.db.execute(
            """
            SELECT lost.seq, best.key, lost.key, best.source, best.line, lost.memo, 0, lost.content, best.content
            FROM lost JOIN best USING (grp)
            UNION ALL
            SELECT best.seq, best.key, best.key, best.source, best.line,
                   EXISTS (SELECT 1 FROM lost WHERE lost.grp = best.grp AND lost.key = best.key AND lost.memo), 1,
                   best.content, best.content
            FROM best WHERE EXISTS (SELECT 1 FROM lost WHERE lost.grp = best.grp)
            ORDER BY 1
            """
        )
        for seq, key, own_key, source, line, memo, won, content, kept in rows:
            yield Settlement(seq, key, own_key, source, line, bool(memo), bool(won), content, kept)

    def lost(self, seq: int) -> bool:
        """Whether the record at position ``seq`` lost to another record of its company."""
        return self.db.execute("SELECT 1 FROM lost WHERE seq = ?", (seq,)).fetchone() is not None

    def close(self) -> None:
        self.db.close()


class Settlement(NamedTuple):
    """A record of a company seen more than once, and what the duplicate rule decided."""

    seq: int
    key: str  #: the company key of the record kept
    own_key: str  #: this record's company key (differs from ``key`` when matched on the other identity)
    source: str  #: where the record kept is
    line: int
    memo: bool  #: a loser: whether it wrote a memo; the winner: whether a loser wrote one at its key
    won: bool
    content: str = ""  #: this record's profile hash (store.identity), when a database is written
    kept_content: str = ""  #: the profile hash of the record kept


class Offer(NamedTuple):
    """A scored record as the duplicate rule sees it (a named tuple: it is pickled back from workers)."""

    key: str
    identities: tuple[str, ...]
    rank: tuple[int, int, int]  #: key fields filled in, as_of (ordinal, 0 when unknown), -position
    seq: int
    source: str
    line: int
    verdict: str
    memo: bool  #: whether its memo was written
    content: str = ""  #: its profile hash (store.identity), when a database is written: which row it wrote
