"""Store each pack's rules once: ``pack_rules``, and per screening only its ``details``.

Each row of 0001 held its full result (about 10 KB, mostly the pack's rule titles and tags).
The upgrade splits every stored result with ``screener.packing`` into the pack's part, stored
once per pack hash, and the row's ``details``; the downgrade joins them back. Rows are converted
a page at a time, so a large database is not read into memory.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from screener import packing

revision = "0002"
down_revision = "0001"

PAGE = 1000

_screening = sa.table(
    "screening",
    sa.column("id", sa.Integer()),
    sa.column("company_key", sa.String()),
    sa.column("company_name", sa.String()),
    sa.column("website", sa.String()),
    sa.column("pack_name", sa.String()),
    sa.column("pack_version", sa.String()),
    sa.column("pack_hash", sa.String()),
    sa.column("screened_on", sa.Date()),
    sa.column("score", sa.Float()),
    sa.column("verdict", sa.String()),
    sa.column("coverage", sa.Float()),
    sa.column("knockouts", sa.JSON()),
    sa.column("matched", sa.JSON()),
    sa.column("result", sa.JSON()),
    sa.column("details", sa.JSON()),
)
_pack_rules = sa.table(
    "pack_rules",
    sa.column("hash", sa.String()),
    sa.column("rules", sa.JSON()),
    sa.column("categories", sa.JSON()),
    sa.column("created_at", sa.DateTime()),
)


def upgrade() -> None:
    op.create_table(
        "pack_rules",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("screening") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
    bind = op.get_bind()
    stored: set[str] = set()
    for rows in _pages(["result", "pack_hash"]):
        for row in rows:
            if row.pack_hash not in stored:
                pack = packing.pack_rules(row.result)
                bind.execute(
                    _pack_rules.insert().values(
                        hash=pack.hash, rules=pack.rules, categories=pack.categories, created_at=sa.func.now()
                    )
                )
                stored.add(pack.hash)
        _update(bind, rows, lambda row: {"details": packing.details(row.result)})
    with op.batch_alter_table("screening") as batch:
        batch.alter_column("details", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("result")
        batch.create_foreign_key("fk_screening_pack_hash", "pack_rules", ["pack_hash"], ["hash"])


def downgrade() -> None:
    with op.batch_alter_table("screening") as batch:
        batch.drop_constraint("fk_screening_pack_hash", type_="foreignkey")
        batch.add_column(sa.Column("result", sa.JSON(), nullable=True))
    bind = op.get_bind()
    packs = {
        row.hash: packing.PackRules(row.hash, row.rules, row.categories)
        for row in bind.execute(sa.select(_pack_rules.c.hash, _pack_rules.c.rules, _pack_rules.c.categories))
    }
    for rows in _pages([c.name for c in _screening.columns if c.name not in {"id", "result"}]):
        _update(bind, rows, lambda row: {"result": packing.join_row(packs[row.pack_hash], row)})
    with op.batch_alter_table("screening") as batch:
        batch.alter_column("result", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("details")
    op.drop_table("pack_rules")


def _pages(columns: list[str]) -> Iterator[list[Any]]:
    """The screening rows, ``PAGE`` at a time in id order, with ``id`` and ``columns``."""
    bind = op.get_bind()
    selected = [_screening.c.id, *(_screening.c[name] for name in columns)]
    last = 0
    while True:
        rows = list(
            bind.execute(sa.select(*selected).where(_screening.c.id > last).order_by(_screening.c.id).limit(PAGE))
        )
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _update(bind: Any, rows: list[Any], values: Callable[[Any], dict[str, Any]]) -> None:
    for row in rows:
        bind.execute(_screening.update().where(_screening.c.id == row.id).values(**values(row)))
