"""Store each screening's plausibility warnings: ``screening.warnings``.

Rows written before the checks existed get the warnings the checks give for their stored profile
on their screening date, so that every row says what the data looked like (a profile snapshot is
the validated profile, so it reads back; the amount as first written, 29.5 for $30, is not kept in
a snapshot, so a suggestion is made from the dollars stored). A row whose profile no longer
validates stops the migration with an error naming it, and nothing is changed. The downgrade
drops the column.

Revision ID: 0003
Revises: 0002
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from pydantic import ValidationError

from screener.errors import Location, StoreError

revision = "0003"
down_revision = "0002"

PAGE = 1000

_screening = sa.table(
    "screening",
    sa.column("id", sa.Integer()),
    sa.column("company_name", sa.String()),
    sa.column("screened_on", sa.Date()),
    sa.column("profile", sa.JSON()),
    sa.column("warnings", sa.JSON()),
)


def upgrade() -> None:
    from screener.profile.model import Profile
    from screener.profile.plausibility import check

    with op.batch_alter_table("screening") as batch:
        batch.add_column(sa.Column("warnings", sa.JSON(), nullable=False, server_default="[]"))
    bind = op.get_bind()
    for rows in _pages():
        changes = []
        for row in rows:
            try:
                profile = Profile.model_validate(row.profile)
            except ValidationError as exc:
                raise StoreError(
                    f"cannot migrate the database: screening {row.id} ({row.company_name}): its stored profile no "
                    f"longer validates ({exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}); fix or "
                    "delete that row, then run again",
                    Location("screening", row.id),
                ) from None
            on = row.screened_on if isinstance(row.screened_on, dt.date) else dt.date.fromisoformat(row.screened_on)
            found = [w.model_dump(mode="json") for w in check(profile, on)]
            if found:
                changes.append({"row_id": row.id, "new_warnings": found})
        if changes:
            bind.execute(
                _screening.update()
                .where(_screening.c.id == sa.bindparam("row_id"))
                .values(warnings=sa.bindparam("new_warnings")),
                changes,
            )


def downgrade() -> None:
    with op.batch_alter_table("screening") as batch:
        batch.drop_column("warnings")


def _pages() -> Iterator[list[Any]]:
    bind = op.get_bind()
    selected = [_screening.c.id, _screening.c.company_name, _screening.c.screened_on, _screening.c.profile]
    last = 0
    while True:
        rows = list(
            bind.execute(sa.select(*selected).where(_screening.c.id > last).order_by(_screening.c.id).limit(PAGE))
        )
        if not rows:
            return
        yield rows
        last = rows[-1].id
