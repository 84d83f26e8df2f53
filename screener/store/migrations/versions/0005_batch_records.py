"""What a batch remembers of each record it scored: ``batch_record``, so that a re-run skips unchanged records.

A new table only; no row of ``screening`` changes. A database migrated to 0005 has no batch
records yet, so its first batch scores every record (and remembers them). The downgrade drops
the table.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "batch_record",
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("pack_hash", sa.String(64), nullable=False),
        sa.Column("company_key", sa.String(300), nullable=False),
        sa.Column("profile_hash", sa.String(64), nullable=False),
        sa.Column("outcome_hash", sa.String(64), nullable=False),
        sa.Column("details_hash", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("ranked", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("record_hash", "pack_hash"),
    )


def downgrade() -> None:
    op.drop_table("batch_record")
