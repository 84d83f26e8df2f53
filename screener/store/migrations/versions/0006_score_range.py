"""Store each screening's score range, and its open questions ordered by stake.

A result now carries the score range the rules it could not evaluate allow (the worst and the
best case, and the verdict of each), stored in ``screening.score_worst``, ``score_best``,
``verdict_worst`` and ``verdict_best``; and its open questions ordered by the points their answer
puts at stake, each with that stake (``details.stakes``), with a note when the open rules could
change the verdict. None of it is part of a screening's identity (``store.identity``): the pack's
content and the outcome decide it.

The upgrade computes them for every row from the database alone, as ``screen verify`` does: the
pack compiled from its stored content, the profile from its snapshot, screened again as of the
stored date. Only the range columns and the explanations (questions, their stakes, notes) are
written, and only when the screening computed again decides exactly what the row says (score,
verdict, coverage, knockouts, matched rules); any other row (its pack's content not stored, a
profile that no longer validates, an outcome that differs) keeps no range (NULL, shown as
unknown) and ``screen verify`` reports it. The downgrade drops the columns and the stakes.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

PAGE = 1000

_screening = sa.table(
    "screening",
    sa.column("id", sa.Integer()),
    sa.column("pack_hash", sa.String()),
    sa.column("screened_on", sa.Date()),
    sa.column("score", sa.Float()),
    sa.column("verdict", sa.String()),
    sa.column("coverage", sa.Float()),
    sa.column("knockouts", sa.JSON()),
    sa.column("matched", sa.JSON()),
    sa.column("profile", sa.JSON()),
    sa.column("details", sa.JSON()),
    sa.column("score_worst", sa.Float()),
    sa.column("score_best", sa.Float()),
    sa.column("verdict_worst", sa.String()),
    sa.column("verdict_best", sa.String()),
)
_pack_rules = sa.table("pack_rules", sa.column("hash", sa.String()), sa.column("content", sa.Text()))

_RANGE = ("score_worst", "score_best", "verdict_worst", "verdict_best")


def upgrade() -> None:
    with op.batch_alter_table("screening") as batch:
        batch.add_column(sa.Column("score_worst", sa.Float(), nullable=True))
        batch.add_column(sa.Column("score_best", sa.Float(), nullable=True))
        batch.add_column(sa.Column("verdict_worst", sa.String(20), nullable=True))
        batch.add_column(sa.Column("verdict_best", sa.String(20), nullable=True))
    bind = op.get_bind()
    screeners: dict[str, Any] = {}
    try:
        for rows in _pages(["pack_hash", "screened_on", "score", "verdict", "coverage", "knockouts", "matched",
                            "profile", "details"]):  # fmt: skip
            changes = []
            for row in rows:
                if row.pack_hash not in screeners:
                    screeners[row.pack_hash] = _screener(bind, row.pack_hash)
                values = _computed(screeners[row.pack_hash], row)
                if values is not None:
                    changes.append((row.id, values))
            _update(bind, changes)
    finally:
        for screener in screeners.values():
            if screener is not None:
                screener.close()


def downgrade() -> None:
    bind = op.get_bind()
    for rows in _pages(["details"]):
        changes = [
            (row.id, {"details": {k: v for k, v in row.details.items() if k != "stakes"}})
            for row in rows
            if isinstance(row.details, dict) and "stakes" in row.details
        ]
        _update(bind, changes)
    with op.batch_alter_table("screening") as batch:
        for name in reversed(_RANGE):
            batch.drop_column(name)


def _screener(bind: Any, pack_hash: str) -> Any:
    """A screener for the stored pack of this hash; None when its content is not stored or does not compile."""
    import json
    from pathlib import Path

    from screener.errors import ScreenerError
    from screener.profile.sources import Document
    from screener.rules.identity import content_hash
    from screener.rules.rulebook import compile_document
    from screener.screening.screener import Screener

    content = bind.execute(sa.select(_pack_rules.c.content).where(_pack_rules.c.hash == pack_hash)).scalar()
    if content is None:
        return None
    data = json.loads(content)
    if content_hash(data) != pack_hash:
        return None
    try:
        return Screener(
            compile_document(Document(data, f"pack {pack_hash[:12]} (database)"), Path(f"{pack_hash}.yaml"))
        )
    except ScreenerError:
        return None


def _computed(screener: Any, row: Any) -> dict[str, Any] | None:
    """The range columns and the new details of a row, when screening it again decides what it says."""
    from pydantic import ValidationError

    from screener.errors import ScreenerError
    from screener.store import packing

    if screener is None or not isinstance(row.profile, dict) or not isinstance(row.details, dict):
        return None
    try:
        profile = screener.rulebook.schema.profile_model.model_validate(row.profile)
        again = screener.screen(profile, row.screened_on, explain=bool(row.details.get("explained")))
    except (ValidationError, ScreenerError):
        return None
    computed = again.model_dump(mode="json")
    matched = [r["id"] for r in computed["rules"] if r["outcome"] == "matched"]
    said = (row.score, row.verdict, row.coverage, row.knockouts, row.matched)
    if said != (computed["score"], computed["verdict"], computed["coverage"], computed["knockouts"], matched):
        return None
    explained = packing.details(computed)
    details = {**row.details, **{key: explained[key] for key in ("questions", "stakes", "notes")}}
    span = computed["score_range"]
    return {"details": details, "score_worst": span["worst"], "score_best": span["best"],
            "verdict_worst": span["worst_verdict"], "verdict_best": span["best_verdict"]}  # fmt: skip


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
