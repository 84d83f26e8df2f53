"""Index the ranking, so that ``screen list`` reads a page without sorting the table.

``ix_screening_ranking`` indexes the terms of the ranking order (verdict, knocked out, score and
coverage highest first, company key, id) as the expressions ``screener.store.listing.RANKING``
spells in its queries: a database uses an expression index only for the same expression. A
page of ``screen list`` then walks this index from its cursor and stops after a page of rows,
instead of numbering and sorting every screening first (seconds at a million rows).

Each listed row is checked to be its company's newest screening under its pack version, by a
seek on ``ix_screening_newest`` (company key, pack name, pack version, then the newest order),
which replaces the company key's own index. Without it SQLite chose ix_screening_pack for that
check, that is every row of the pack version for every row listed.

A later migration that rebuilds the ``screening`` table (SQLite's batch mode copies the table)
must create this index again: reflection does not see expression indexes.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"

#: Frozen here as this revision created them (a test holds them equal to listing.RANKING).
TERMS = (
    "(CASE verdict WHEN 'strong-fit' THEN 0 WHEN 'review' THEN 1 WHEN 'pass' THEN 2 ELSE 3 END)",
    "(CASE WHEN CAST(knockouts AS VARCHAR) = '[]' THEN 0 ELSE 1 END)",
    "(-score)",
    "(-coverage)",
    "company_key",
    "id",
)


#: What finds a company's newest screening under a pack version.
NEWEST = ("company_key", "pack_name", "pack_version", "screened_on", "updated_at", "id")


#: Indexes the two new ones make redundant (and every index slows each insert of a batch): the
#: company key leads ix_screening_newest, and a verdict or a score is only ever read in the
#: ranking order, where ix_screening_ranking serves them (with the verdict index to choose, SQLite
#: read one verdict's rows through it and sorted them).
REPLACED = ("company_key", "verdict", "score")


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_screening_ranking ON screening ({', '.join(TERMS)})")
    op.create_index("ix_screening_newest", "screening", list(NEWEST))
    for name in REPLACED:
        op.drop_index(f"ix_screening_{name}", table_name="screening")


def downgrade() -> None:
    for name in REPLACED:
        op.create_index(f"ix_screening_{name}", "screening", [name])
    op.drop_index("ix_screening_newest", table_name="screening")
    op.execute("DROP INDEX ix_screening_ranking")
