"""Store each pack's rules once: ``pack_rules``, and per screening only its ``details``.

Each row of 0001 held its full result (about 10 KB, mostly the pack's rule titles and tags).
The upgrade splits every stored result with ``screener.store.packing`` into the pack's part, stored
once per pack hash, and the row's ``details``, and checks that the two join back into exactly
the stored result; the downgrade joins them back. Rows are converted a page at a time, so a
large database is not read into memory. A row that cannot be converted stops the migration
with an error naming it, and nothing is changed (``store.migrate`` runs it in one transaction).

Revision ID: 0002
Revises: 0001
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from screener.errors import Location, StoreError
from screener.store import packing

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
    packs: dict[str, packing.PackRules] = {}
    columns = [c.name for c in _screening.columns if c.name not in {"id", "details"}]
    for rows in _pages(columns):
        details = {}
        for row in rows:
            try:
                pack = packs.get(row.pack_hash) or packing.pack_rules(row.result)
                details[row.id] = packing.details(row.result)
                joined = packing.join_row(pack, _Row(row, details[row.id]))
            except (KeyError, TypeError, ValueError) as exc:
                raise _unconvertible(row, f"its stored result is malformed ({type(exc).__name__}: {exc})") from None
            differ = [key for key in row.result if joined.get(key) != row.result[key]]
            if "rules" in differ:
                raise _unconvertible(
                    row, f"its result lists the rules of pack {row.pack_hash} differently from the pack's other "
                    "results (titles, categories, points or tags), so they cannot be stored once",
                )  # fmt: skip
            if differ or len(joined) != len(row.result):
                raise _unconvertible(row, f"its result disagrees with the row's columns on {', '.join(differ)}")
            if row.pack_hash not in packs:
                packs[row.pack_hash] = pack
                bind.execute(
                    _pack_rules.insert().values(
                        hash=pack.hash, rules=pack.rules, categories=pack.categories,
                        created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    )
                )  # fmt: skip
        _update(bind, [(row_id, {"details": value}) for row_id, value in details.items()])
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
        _update(bind, [(row.id, {"result": packing.join_row(packs[row.pack_hash], row)}) for row in rows])
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


def _update(bind: Any, changes: list[tuple[int, dict[str, Any]]]) -> None:
    """Set the values of each (row id, values) pair, in one statement run for them all."""
    if not changes:
        return
    names = list(changes[0][1])
    statement = (
        _screening.update()
        .where(_screening.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(f"new_{name}") for name in names})
    )
    bind.execute(
        statement, [{"row_id": row_id, **{f"new_{k}": v for k, v in values.items()}} for row_id, values in changes]
    )


class _Row:
    """A 0001 row with the details it is about to get, as ``packing.join_row`` reads it."""

    def __init__(self, row: Any, details: dict[str, Any]):
        self._row, self.details = row, details

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def _unconvertible(row: Any, why: str) -> StoreError:
    return StoreError(
        f"cannot migrate the database: screening {row.id} ({row.company_name}, pack {row.pack_name} "
        f"{row.pack_version}): {why}; fix or delete that row, then run again",
        Location("screening", row.id),
    )
