"""A screening's identity and a real history: profile and outcome hashes, each pack's content.

Up to 0003 a row was keyed on (company, pack name, pack version): screening a company again under
the same version replaced its row, even when the pack's content or the company's facts had
changed. From 0004 a row is one distinct screening, keyed on (company, pack hash, profile hash,
outcome hash) (``screener.store.identity``), and ``pack_rules`` keeps each pack's full content.

The upgrade computes both hashes of every row (a page at a time, so a large database is not read
into memory), swaps the unique constraint, indexes (pack name, pack version, pack hash) for
``--pack`` and for the content a version is bound to, and adds ``pack_rules.content``: known for the pack this release ships, when the database holds it;
for any other pack it is filled in the first time a screening is saved with that pack again (and
``screen verify`` reports the screenings it cannot check until then). A row that cannot be
converted stops the migration with an error naming it, and nothing is changed
(``store.migrate`` runs it in one transaction).

The downgrade keeps the newest screening of each (company, pack name, pack version), which is
all that 0003 can hold, and drops the rest.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from screener.errors import Location, StoreError
from screener.store.identity import outcome_hash, profile_hash

revision = "0004"
down_revision = "0003"

PAGE = 1000

_screening = sa.table(
    "screening",
    sa.column("id", sa.Integer()),
    sa.column("company_key", sa.String()),
    sa.column("company_name", sa.String()),
    sa.column("pack_name", sa.String()),
    sa.column("pack_version", sa.String()),
    sa.column("pack_hash", sa.String()),
    sa.column("profile_hash", sa.String()),
    sa.column("outcome_hash", sa.String()),
    sa.column("screened_on", sa.Date()),
    sa.column("updated_at", sa.DateTime()),
    sa.column("score", sa.Float()),
    sa.column("verdict", sa.String()),
    sa.column("coverage", sa.Float()),
    sa.column("knockouts", sa.JSON()),
    sa.column("matched", sa.JSON()),
    sa.column("profile", sa.JSON()),
    sa.column("details", sa.JSON()),
    sa.column("warnings", sa.JSON()),
)
_pack_rules = sa.table("pack_rules", sa.column("hash", sa.String()), sa.column("content", sa.Text()))


def upgrade() -> None:
    with op.batch_alter_table("pack_rules") as batch:
        batch.add_column(sa.Column("content", sa.Text(), nullable=True))
    with op.batch_alter_table("screening") as batch:
        batch.add_column(sa.Column("profile_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("outcome_hash", sa.String(64), nullable=True))
    bind = op.get_bind()
    _store_packaged_content(bind)
    columns = ["company_name", "pack_name", "pack_version", "score", "verdict", "coverage", "knockouts", "matched",
               "profile", "details", "warnings"]  # fmt: skip
    for rows in _pages(columns):
        changes = []
        for row in rows:
            try:
                if not isinstance(row.profile, dict) or not isinstance(row.details, dict):
                    raise TypeError("not a JSON object")
                hashes = {
                    "profile_hash": profile_hash(row.profile),
                    "outcome_hash": outcome_hash(
                        row.score, row.verdict, row.coverage, row.knockouts, row.matched, row.details, row.warnings
                    ),
                }
            except (TypeError, ValueError) as exc:
                raise _unconvertible(
                    row, f"its profile or details are malformed ({type(exc).__name__}: {exc})"
                ) from None
            changes.append((row.id, hashes))
        _update(bind, changes)
    _refuse_twins(bind)
    with op.batch_alter_table("screening") as batch:
        batch.alter_column("profile_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("outcome_hash", existing_type=sa.String(64), nullable=False)
        batch.drop_constraint("uq_screening_company_pack", type_="unique")
        batch.create_unique_constraint(
            "uq_screening_identity", ["company_key", "pack_hash", "profile_hash", "outcome_hash"]
        )
        batch.create_index("ix_screening_pack", ["pack_name", "pack_version", "pack_hash"])


def downgrade() -> None:
    bind = op.get_bind()
    newest = (
        sa.select(
            _screening.c.id,
            sa.func.row_number()
            .over(
                partition_by=(_screening.c.company_key, _screening.c.pack_name, _screening.c.pack_version),
                order_by=(_screening.c.screened_on.desc(), _screening.c.updated_at.desc(), _screening.c.id.desc()),
            )
            .label("number"),
        )
    ).subquery()
    older = sa.select(newest.c.id).where(newest.c.number > 1)
    bind.execute(_screening.delete().where(_screening.c.id.in_(older)))
    with op.batch_alter_table("screening") as batch:
        batch.drop_index("ix_screening_pack")
        batch.drop_constraint("uq_screening_identity", type_="unique")
        batch.create_unique_constraint("uq_screening_company_pack", ["company_key", "pack_name", "pack_version"])
        batch.drop_column("outcome_hash")
        batch.drop_column("profile_hash")
    with op.batch_alter_table("pack_rules") as batch:
        batch.drop_column("content")


def _store_packaged_content(bind: Any) -> None:
    """The content of the pack this release ships, if the database has screenings made with it."""
    from screener.profile.sources import load_document
    from screener.rules.identity import as_written, content_hash
    from screener.rules.rulebook import resolve_pack

    doc = load_document(resolve_pack(None))
    bind.execute(
        _pack_rules.update().where(_pack_rules.c.hash == content_hash(doc.data)).values(content=as_written(doc.data))
    )


def _refuse_twins(bind: Any) -> None:
    """Two rows of 0003 that are one screening by the new identity (only a hand-edited database has them)."""
    identity = (_screening.c.company_key, _screening.c.pack_hash, _screening.c.profile_hash, _screening.c.outcome_hash)
    twin = bind.execute(
        sa.select(sa.func.min(_screening.c.id), sa.func.max(_screening.c.id))
        .group_by(*identity)
        .having(sa.func.count() > 1)
        .limit(1)
    ).first()
    if twin is not None:
        raise StoreError(
            f"cannot migrate the database: screenings {twin[0]} and {twin[1]} are the same screening (same company, "
            "pack content, facts and outcome) stored under two pack versions; delete one of them, then run again",
            Location("screening", twin[0]),
        )


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


def _unconvertible(row: Any, why: str) -> StoreError:
    return StoreError(
        f"cannot migrate the database: screening {row.id} ({row.company_name}, pack {row.pack_name} "
        f"{row.pack_version}): {why}; fix or delete that row, then run again",
        Location("screening", row.id),
    )
